/**
 * reduceForward: out[o, j] = ⊕_k x[o, k, j] over x viewed as [outer, R, inner], ⊕ one of sum, max,
 * min, mean (sum / R). The CPU meaning of the `reduce` kernel. With `chunk`, the first pass of a
 * two-pass reduction: out[o, b, j] = ⊕ over k in [b·chunk, min(R, (b+1)·chunk)), b < ⌈R/chunk⌉.
 */
import type { FloatArray } from '../core/dtype.js';

export const REDUCE_OPS = ['sum', 'max', 'min', 'mean'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

export interface ReduceParams {
  op: ReduceOp;
  outer: number;
  /** length of the reduced axis */
  r: number;
  inner: number;
  /** partials over consecutive runs of `chunk` elements of the axis (default R: one output per [o, j]) */
  chunk?: number;
}

/** Partials per output of a chunked pass (1 without a chunk). */
export const reduceChunks = (p: ReduceParams): number => (p.chunk ? Math.max(1, Math.ceil(p.r / p.chunk)) : 1);

export function reduceRef([x, out]: FloatArray[], p: ReduceParams): void {
  const { outer, r, inner } = p;
  const nb = reduceChunks(p);
  const chunk = p.chunk ?? r;
  const init = p.op === 'max' ? Number.NEGATIVE_INFINITY : p.op === 'min' ? Number.POSITIVE_INFINITY : 0;
  for (let ob = 0; ob < outer * nb; ob++) {
    const [o, b] = [Math.floor(ob / nb), ob % nb];
    const len = Math.min(chunk, r - b * chunk);
    for (let j = 0; j < inner; j++) {
      let acc = init;
      const base = (o * r + b * chunk) * inner + j;
      for (let k = 0; k < len; k++) {
        const v = x[base + k * inner];
        if (p.op === 'max') acc = Math.max(acc, v);
        else if (p.op === 'min') acc = Math.min(acc, v);
        else acc += v;
      }
      out[ob * inner + j] = p.op === 'mean' ? acc / r : acc;
    }
  }
}
