/**
 * binaryForward: out[i] = f(a[i], b[i]) with NumPy broadcasting (rank ≤ 6), and the scalar form
 * out[i] = f(x[i], s). The CPU meaning of the `binary` and `binaryScalar` kernels.
 */
import type { FloatArray } from '../core/dtype.js';

export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/** Broadcast rank limit (uniform slots). */
export const BINARY_MAX_RANK = 6;

export interface BinaryParams {
  op: BinaryOp;
  /** output shape (rank ≤ 6); the output is contiguous */
  shape: readonly number[];
  /** element strides of a and b per output dim, 0 where the input is broadcast */
  aStrides: readonly number[];
  bStrides: readonly number[];
}

export interface BinaryScalarParams {
  op: BinaryOp;
  /** element count */
  n: number;
  /** the scalar right operand (the op rounds it to f32 so both backends see one value) */
  scalar: number;
}

export const BINARY_FNS: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  max: Math.max,
  min: Math.min,
  pow: Math.pow,
};

export function binaryRef([a, b, out]: FloatArray[], p: BinaryParams): void {
  const f = BINARY_FNS[p.op];
  const rank = p.shape.length;
  const n = p.shape.reduce((x, y) => x * y, 1);
  const idx = new Array<number>(rank).fill(0);
  let ia = 0;
  let ib = 0;
  for (let e = 0; e < n; e++) {
    out[e] = f(a[ia], b[ib]);
    // odometer increment, moving both input offsets along
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

export function binaryScalarRef([x, out]: FloatArray[], p: BinaryScalarParams): void {
  const f = BINARY_FNS[p.op];
  for (let i = 0; i < p.n; i++) out[i] = f(x[i], p.scalar);
}
