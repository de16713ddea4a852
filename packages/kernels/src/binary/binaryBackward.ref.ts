/**
 * binaryBackward: the two operand gradients of out = f(a, b) over the broadcast output shape, before
 * they are summed down to each operand's shape:
 *   div  da = dy/b,  db = −dy·(a/b)/b
 *   max  da = dy·[a > b] + dy/2·[a = b],  db = dy·[b > a] + dy/2·[a = b]   (ties split evenly)
 *   min  da = dy·[a < b] + dy/2·[a = b],  db = dy·[b < a] + dy/2·[a = b]
 * The tie rule is PyTorch's: deterministic, and the two halves add up to dy.
 */
import type { FloatArray } from '../core/dtype.js';
import type { BinaryParams } from './binary.ref.js';

export const BINARY_BACKWARD_OPS = ['div', 'max', 'min'] as const;
export type BinaryBackwardOp = (typeof BINARY_BACKWARD_OPS)[number];

export interface BinaryBackwardParams extends Omit<BinaryParams, 'op'> {
  op: BinaryBackwardOp;
}

/** The share of dy that goes to a (max/min); b gets the rest. */
function share(op: 'max' | 'min', a: number, b: number): number {
  if (a === b) return 0.5;
  return (op === 'max' ? a > b : a < b) ? 1 : 0;
}

/** [da, db] for one element. */
export function binaryGrad(op: BinaryBackwardOp, a: number, b: number, dy: number): [number, number] {
  if (op === 'div') return [dy / b, (-dy * (a / b)) / b];
  const s = share(op, a, b);
  return [dy * s, dy * (1 - s)];
}

/** Arrays: a, b (read through the broadcast strides), dy [shape], then da, db [shape]. */
export function binaryBackwardRef([a, b, dy, da, db]: FloatArray[], p: BinaryBackwardParams): void {
  const rank = p.shape.length;
  const n = p.shape.reduce((x, y) => x * y, 1);
  const idx = new Array<number>(rank).fill(0);
  let ia = 0;
  let ib = 0;
  for (let e = 0; e < n; e++) {
    [da[e], db[e]] = binaryGrad(p.op, a[ia], b[ib], dy[e]);
    for (let k = rank - 1; k >= 0; k--) {
      ia += p.aStrides[k];
      ib += p.bStrides[k];
      if (++idx[k] < p.shape[k]) break;
      ia -= idx[k] * p.aStrides[k];
      ib -= idx[k] * p.bStrides[k];
      idx[k] = 0;
    }
  }
}
