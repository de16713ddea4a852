/**
 * Rotary position embedding (rotate-half / GPT-NeoX layout, as HF Llama, not interleaved) over f32
 * x [..., T, H, D].
 *
 * Angle precision, the choice: for |pos| < 4096 the angle is fp32(fp32(pos) · inv_freq), bit-for-bit
 * what PyTorch computes (`pos.float()[:, None] * inv_freq`): our models train at ≤ 4K, and golden tests
 * compare with PyTorch there. Beyond, that fp32 product is off by up to ulp(angle)/2 (0.125 rad at 4M,
 * 0.5 rad at 16M for the highest frequencies), which scrambles the sliding-window attention's
 * high-frequency pairs: at 16M tokens the model retrieved the needle chunk and answered wrongly. So
 * past 4096 the angle is built from pos = l + 4096·h₀ + 2²¹·h₁ with each term reduced mod 2π (host
 * constants 4096·f and 2²¹·f mod 2π, see rope.ref.ts in @hsa/kernels): within 3.7e-4 rad of the exact
 * pos·inv_freq mod 2π for every |pos| ≤ 2³⁰, and angle(−pos) = −angle(pos) exactly. sin/cos of it are
 * evaluated accurately in the shader (WGSL's own sin/cos promise only 2⁻¹¹).
 */
import { ArgumentError, rope as ropeKernel, ropeFreqs, ShapeError } from '@hsa/kernels';
import { fmtShape, numel, Tensor } from '../tensor.js';
import { expectDtype, sameBackend } from './guards.js';

export interface RopeOptions {
  /** base θ of inv_freq = θ^(−2i/D) (default 10000) */
  theta?: number;
  /** pos = positionOffset + t (default 0); ignored when `positions` is given */
  positionOffset?: number;
  /** i32 positions, shape [T] (shared by the leading dims) or [...lead, T] */
  positions?: Tensor;
  /** rotate by −pos: the inverse rotation (rope's gradient), exact for every |pos| ≤ 2³⁰ */
  negate?: boolean;
}

const freqsCache = new WeakMap<object, Map<string, Tensor>>();

/** [3, D/2] inv_freq, K0, K1 on the backend, built once per (backend, D, θ) and kept for its lifetime. */
function freqsTensor(backend: Tensor['backend'], d: number, theta: number): Tensor {
  let m = freqsCache.get(backend);
  if (!m) freqsCache.set(backend, (m = new Map()));
  const key = `${d}:${theta}`;
  let t = m.get(key);
  if (!t) m.set(key, (t = Tensor.from(backend, ropeFreqs(d, theta), [3, d / 2])));
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
  const xc = x.bindable();
  const pc = positions?.contiguous();
  const params = { batch, t, h, d, posMode: positions ? ('tensor' as const) : ('offset' as const), offset: positionOffset, posBatchStride, negate: options.negate === true };
  const freqs = freqsTensor(x.backend, d, theta).arg();
  x.backend.run(ropeKernel, params, pc ? [xc.arg(), freqs, pc.arg(), out.arg()] : [xc.arg(), freqs, out.arg()]);
  xc.dispose();
  pc?.dispose();
  return out;
}
