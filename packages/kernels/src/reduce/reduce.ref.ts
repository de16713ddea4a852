/**
 * reduceForward: out[o, j] = ⊕_k x[o, k, j] over x viewed as [outer, R, inner], ⊕ one of sum, max,
 * min, mean (sum / R). The CPU meaning of the `reduce` kernel.
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
}

export function reduceRef([x, out]: FloatArray[], p: ReduceParams): void {
  const { outer, r, inner } = p;
  const init = p.op === 'max' ? Number.NEGATIVE_INFINITY : p.op === 'min' ? Number.POSITIVE_INFINITY : 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let acc = init;
      const base = o * r * inner + j;
      for (let k = 0; k < r; k++) {
        const v = x[base + k * inner];
        if (p.op === 'max') acc = Math.max(acc, v);
        else if (p.op === 'min') acc = Math.min(acc, v);
        else acc += v;
      }
      out[o * inner + j] = p.op === 'mean' ? acc / r : acc;
    }
  }
}
