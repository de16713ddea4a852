/**
 * Backward of the dense attention ops (swaAttention, chunkEncoderAttention) from the forward's output
 * and saved log-sum-exp: delta = dout·out per row, then dq per query tile and dk/dv per key tile
 * (each key tile loops over the query rows that see it: deterministic, no atomics).
 * v3 (the default on WebGPU where its scratch fits): the dk/dv kernel also stores every score
 * gradient dS in a band of (query row × the keys a row can see) floats, and dq = dS·k reads it back
 * instead of recomputing S, P and dP (v1 / v2's dq kernel does three of its four products again).
 */
import {
  ArgumentError,
  type DenseBackwardParams,
  denseAttentionDelta,
  denseAttentionDkv,
  denseAttentionDkvDs,
  denseAttentionDq,
  denseAttentionDqFromDs,
  denseAttentionLseDelta,
  denseBackwardV3Applies,
  denseDsBandElements,
  ShapeError,
} from '@hsa/kernels';
import type { Backend } from '../../backend.js';
import { fmtShape, Tensor } from '../../tensor.js';
import { expectDtype, sameBackend } from '../guards.js';
import { type AttentionOptions, type SwaOptions, swaWindow } from './swaAttention.js';

/** The backward kernel version: 'auto' (default) or one forced ('v1', 'v2', 'v3'; tests and benchmarks). */
export interface BackwardVersion {
  version?: DenseBackwardParams['version'];
  /**
   * Most bytes v3's score-gradient band may take (default 1 GiB, and never over the backend's largest
   * binding): 4 · segments · Hq · T · min(window + 1, T) (block mode: T² a chunk and head). Where the
   * band is larger, 'auto' takes v2 and a forced 'v3' is an ArgumentError.
   */
  scoreGradBytes?: number;
}

export const SCORE_GRAD_BYTES = 2 ** 30;

/** Whether a call runs v3: forced, or 'auto' on WebGPU where it applies and its band fits. */
function takesV3(p: DenseBackwardParams, be: Backend, limit = SCORE_GRAD_BYTES): boolean {
  if (p.version === 'v1' || p.version === 'v2') return false;
  const bytes = denseDsBandElements(p) * 4;
  const most = Math.min(limit, be.maxBindingBytes);
  if (p.version === 'v3' && bytes > most) {
    throw new ArgumentError(`attention backward: v3's score gradients take ${bytes} bytes, over the ${most} allowed (scoreGradBytes, largest binding)`);
  }
  return p.version === 'v3' || (be.name === 'webgpu' && bytes <= most && denseBackwardV3Applies(p, be.caps));
}

export interface AttentionGrads {
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
}

function same(a: Tensor, b: Tensor): boolean {
  return a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);
}

/** Guards: q, out, dout [..., Hq, D]; k, v [..., Hk, D]; lse [..., Hq]. */
function check(op: string, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor, rank: number) {
  sameBackend(op, q, k, v, out, lse, dout);
  for (const t of [q, k, v, out, lse, dout]) expectDtype(op, t, 'f32');
  const desc = `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}, out ${fmtShape(out.shape)}, lse ${fmtShape(lse.shape)}, dout ${fmtShape(dout.shape)}`;
  const lead = q.shape.slice(0, -1);
  const ok =
    q.rank === rank &&
    same(k, v) &&
    same(q, out) &&
    same(q, dout) &&
    k.rank === rank &&
    k.shape.slice(0, -2).every((d, i) => d === q.shape[i]) &&
    k.shape[rank - 1] === q.shape[rank - 1] &&
    lse.rank === rank - 1 &&
    lse.shape.every((d, i) => d === lead[i]);
  if (!ok) throw new ShapeError(`${op}: shapes do not match: ${desc}`);
  const [hq, d] = q.shape.slice(-2);
  const hk = k.shape[rank - 2];
  if (hk === 0 || hq % hk !== 0) throw new ShapeError(`${op}: ${hq} query heads do not divide into ${hk} KV heads (${desc})`);
  return { hq, hk, d };
}

function run(p: DenseBackwardParams, [q, k, v, out, lse, dout]: Tensor[], limit?: number): AttentionGrads {
  const be = q.backend;
  const dq = Tensor.empty(be, q.shape, 'f32');
  const dk = Tensor.empty(be, k.shape, 'f32');
  const dv = Tensor.empty(be, k.shape, 'f32');
  if (q.size === 0) return { dq, dk, dv };
  const [cq, ck, cv, co, cl, cd] = [q, k, v, out, lse, dout].map((t) => t.bindable());
  if (takesV3(p, be, limit)) {
    const ld = Tensor.empty(be, [2 * lse.size], 'f32');
    be.run(denseAttentionLseDelta, { n: lse.size, d: p.d }, [co.arg(), cd.arg(), cl.arg(), ld.arg()]);
    const ds = Tensor.empty(be, [denseDsBandElements(p)], 'f32');
    be.run(denseAttentionDkvDs, p, [cq, ck, cv, cd, ld, dk, dv, ds].map((t) => t.arg()));
    be.run(denseAttentionDqFromDs, p, [ds.arg(), ck.arg(), dq.arg()]);
    for (const t of [cq, ck, cv, co, cl, cd, ld, ds]) t.dispose();
    return { dq, dk, dv };
  }
  const delta = Tensor.empty(be, lse.shape, 'f32');
  be.run(denseAttentionDelta, { n: lse.size, d: p.d }, [co.arg(), cd.arg(), delta.arg()]);
  const ins = [cq, ck, cv, cd, cl, delta].map((t) => t.arg());
  be.run(denseAttentionDq, p, [...ins, dq.arg()]);
  be.run(denseAttentionDkv, p, [...ins, dk.arg(), dv.arg()]);
  for (const t of [cq, ck, cv, co, cl, cd, delta]) t.dispose();
  return { dq, dk, dv };
}

/**
 * Gradients of swaAttention: q [T, Hq, D], k, v [T, Hk, D], its output out [T, Hq, D] and lse [T, Hq]
 * (swaAttentionWithLse), dout [T, Hq, D] → dq, dk, dv.
 */
export function swaAttentionBackward(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  out: Tensor,
  lse: Tensor,
  dout: Tensor,
  options: SwaOptions & BackwardVersion,
): AttentionGrads {
  const op = 'swaAttentionBackward';
  const { hq, hk, d } = check(op, q, k, v, out, lse, dout, 3);
  const { window, segLen } = swaWindow(op, q.shape[0], options);
  const segs = segLen === 0 ? 1 : q.shape[0] / segLen;
  const p: DenseBackwardParams = { mode: 'window', segs, t: segLen, hq, hk, d, window, scale: options.scale, version: options.version };
  return run(p, [q, k, v, out, lse, dout], options.scoreGradBytes);
}

/**
 * Gradients of chunkEncoderAttention: q [N, T, Hq, D], k, v [N, T, Hk, D], out [N, T, Hq, D],
 * lse [N, T, Hq] (chunkEncoderAttentionWithLse), dout → dq, dk, dv.
 */
export function chunkEncoderAttentionBackward(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  out: Tensor,
  lse: Tensor,
  dout: Tensor,
  options: AttentionOptions & BackwardVersion = {},
): AttentionGrads {
  const { hq, hk, d } = check('chunkEncoderAttentionBackward', q, k, v, out, lse, dout, 4);
  const [n, t] = q.shape;
  const p: DenseBackwardParams = { mode: 'block', segs: n, t, hq, hk, d, window: 0, scale: options.scale, version: options.version };
  return run(p, [q, k, v, out, lse, dout], options.scoreGradBytes);
}
