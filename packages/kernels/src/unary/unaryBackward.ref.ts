/**
 * unaryBackward: dx[i] = dy[i] · f'(x[i]) for the differentiable elementwise functions, from the
 * forward's input x or output y, whichever is cheaper:
 *   exp      dy·y                      sigmoid  dy·y·(1 − y)
 *   silu     dy·s·(1 + x·(1 − s)), s = sigmoid(x)
 *   pow      dy·p·x^(p−1) (scalar p; NumPy pow for x < 0 and integer p; 0 for p = 0)
 */
import type { FloatArray } from '../core/dtype.js';

export const UNARY_BACKWARD_OPS = ['exp', 'sigmoid', 'silu', 'pow'] as const;
export type UnaryBackwardOp = (typeof UNARY_BACKWARD_OPS)[number];

export interface UnaryBackwardParams {
  op: UnaryBackwardOp;
  /** element count */
  n: number;
  /** the exponent of 'pow' (rounded to f32 by the op), ignored otherwise */
  p?: number;
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** f'(x) times dy, given x and y = f(x). */
export function unaryGrad(op: UnaryBackwardOp, x: number, y: number, dy: number, p = 0): number {
  switch (op) {
    case 'exp':
      return dy * y;
    case 'sigmoid':
      return dy * y * (1 - y);
    case 'silu': {
      const s = sigmoid(x);
      return dy * s * (1 + x * (1 - s));
    }
    case 'pow':
      return p === 0 ? 0 : dy * p * x ** (p - 1);
  }
}

/** Arrays: x, y (the forward output), dy, then dx; all [n]. */
export function unaryBackwardRef([x, y, dy, dx]: FloatArray[], p: UnaryBackwardParams): void {
  for (let i = 0; i < p.n; i++) dx[i] = unaryGrad(p.op, x[i], y[i], dy[i], p.p ?? 0);
}
