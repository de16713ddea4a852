/** Top-k and argmax over the last axis. */
import { ArgumentError, TOPK_MAX_K, topk as topkKernel, topkChunk } from '@hsa/kernels';
import { fmtShape, Tensor } from '../tensor.js';
import { expectDtype } from './guards.js';

export interface TopkResult {
  /** [..., k] f32, best first */
  values: Tensor;
  /** [..., k] i32 positions along the last axis */
  indices: Tensor;
}

/**
 * The k largest entries along the last axis, best first; ties go to the lower index, −∞ sorts after
 * every finite value and NaN after −∞ (so NaN is picked only when a row has fewer than k others).
 * k ≤ {@link TOPK_MAX_K}; rows of any length (long rows take a few passes).
 */
export function topk(x: Tensor, k: number): TopkResult {
  expectDtype('topk', x, 'f32');
  if (x.rank === 0) throw new ArgumentError('topk: needs at least one axis, got a scalar');
  const n = x.shape[x.rank - 1];
  if (!Number.isInteger(k) || k < 1 || k > n || k > TOPK_MAX_K) {
    throw new ArgumentError(`topk: k=${k} must be an integer in [1, min(row length, ${TOPK_MAX_K})] for x ${fmtShape(x.shape)}`);
  }
  const rows = x.size / n;
  const b = x.backend;
  const outShape = [...x.shape.slice(0, -1), k];
  const xc = x.contiguous();
  let cand: [Tensor, Tensor] | null = null;
  let len = n;
  for (;;) {
    const chunk = topkChunk(len);
    const chunks = Math.ceil(len / chunk);
    const final = chunks === 1;
    const outA = final ? Tensor.empty(b, outShape, 'f32') : Tensor.empty(b, [rows, chunks * k], 'u32');
    const outB = final ? Tensor.empty(b, outShape, 'i32') : Tensor.empty(b, [rows, chunks * k], 'u32');
    const ins = cand ? [xc.arg(), cand[0].arg(), cand[1].arg()] : [xc.arg()];
    if (rows > 0) b.run(topkKernel, { rows, n, len, chunk, k, first: !cand, final }, [...ins, outA.arg(), outB.arg()]);
    cand?.[0].dispose();
    cand?.[1].dispose();
    cand = [outA, outB];
    if (final) break;
    len = chunks * k;
  }
  xc.dispose();
  return { values: cand[0], indices: cand[1] };
}

/** Index of the largest entry along the last axis (lowest index on ties, NaN ignored unless all NaN), i32. */
export function argmax(x: Tensor): Tensor {
  const { values, indices } = topk(x, 1);
  values.dispose();
  const out = indices.reshape(x.shape.slice(0, -1));
  indices.dispose();
  return out;
}
