/**
 * Rotary position embedding (rotate-half / GPT-NeoX layout, as HF Llama, not interleaved) over f32
 * x [..., T, H, D].
 *
 * Angle precision, the choice: the angle is fp32(fp32(pos) · inv_freq), bit-for-bit what PyTorch
 * computes (`pos.float()[:, None] * inv_freq`), not the exact real pos·θ^(−2i/D). In fp32 that
 * product carries an error of up to ulp(angle)/2 (0.03 rad at pos ≈ 1e6, 0.5 rad at 16M for the
 * i = 0 frequency) — but a model trained with PyTorch fp32 RoPE learned exactly those angles, so we
 * match them and then evaluate sin/cos of that fp32 angle accurately (range reduction in the shader,
 * valid to |angle| < 2.6e7, i.e. positions up to 16M; WGSL's own sin/cos would be wrong by O(1) at
 * such arguments). Positions past 2²⁴ are not exact in fp32 (PyTorch rounds them the same way).
 */
import { ArgumentError, rope as ropeKernel, ropeInvFreq, ShapeError } from '@hsa/kernels';
import { fmtShape, numel, Tensor } from '../tensor.js';
import { expectDtype, sameBackend } from './guards.js';

export interface RopeOptions {
  /** base θ of inv_freq = θ^(−2i/D) (default 10000) */
  theta?: number;
  /** pos = positionOffset + t (default 0); ignored when `positions` is given */
  positionOffset?: number;
  /** i32 positions, shape [T] (shared by the leading dims) or [...lead, T] */
  positions?: Tensor;
}

const invFreqCache = new WeakMap<object, Map<string, Tensor>>();

/** inv_freq [D/2] on the backend, built once per (backend, D, θ) and kept for its lifetime. */
function invFreqTensor(backend: Tensor['backend'], d: number, theta: number): Tensor {
  let m = invFreqCache.get(backend);
  if (!m) invFreqCache.set(backend, (m = new Map()));
  const key = `${d}:${theta}`;
  let t = m.get(key);
  if (!t) m.set(key, (t = Tensor.from(backend, ropeInvFreq(d, theta), [d / 2])));
  return t;
}

function checkPositions(x: Tensor, positions: Tensor, batch: number, t: number): number {
  expectDtype('rope positions', positions, 'i32');
  sameBackend('rope', x, positions);
  const ok = positions.shape[positions.rank - 1] === t && (positions.size === t || positions.size === batch * t);
  if (!ok) {
    throw new ShapeError(`rope: positions ${fmtShape(positions.shape)} must be [T] or [...lead, T] for x ${fmtShape(x.shape)} ([..., T, H, D])`);
  }
  return positions.size === t ? 0 : t;
}

/** rope(x) = x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x[D/2:], x[:D/2]); x is [..., T, H, D]. */
export function rope(x: Tensor, options: RopeOptions = {}): Tensor {
  const { theta = 10_000, positionOffset = 0, positions } = options;
  expectDtype('rope', x, 'f32');
  if (x.rank < 3 || x.shape[x.rank - 1] % 2 !== 0) {
    throw new ShapeError(`rope: x ${fmtShape(x.shape)} must be [..., T, H, D] with D even`);
  }
  if (!(theta > 0) || !Number.isFinite(theta)) throw new ArgumentError(`rope: theta must be finite and > 0, got ${theta}`);
  if (!Number.isInteger(positionOffset) || Math.abs(positionOffset) > 2 ** 30) {
    throw new ArgumentError(`rope: positionOffset must be an integer with |offset| ≤ 2^30, got ${positionOffset}`);
  }
  const [t, h, d] = x.shape.slice(-3);
  const batch = numel(x.shape.slice(0, -3));
  const posBatchStride = positions ? checkPositions(x, positions, batch, t) : 0;
  const out = Tensor.empty(x.backend, x.shape, 'f32');
  if (out.size === 0) return out;
  const xc = x.contiguous();
  const pc = positions?.contiguous();
  const params = { batch, t, h, d, posMode: positions ? ('tensor' as const) : ('offset' as const), offset: positionOffset, posBatchStride };
  const inv = invFreqTensor(x.backend, d, theta).arg();
  x.backend.run(ropeKernel, params, pc ? [xc.arg(), inv, pc.arg(), out.arg()] : [xc.arg(), inv, out.arg()]);
  xc.dispose();
  pc?.dispose();
  return out;
}
