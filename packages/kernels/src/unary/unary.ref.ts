/** unaryForward: out[i] = f(x[i]) for an elementwise f; the CPU meaning of the `unary` kernel. */
import type { FloatArray } from '../core/dtype.js';

export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'abs',
  'relu',
  'sigmoid',
  'silu',
  'tanh',
  'square',
  'recip',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export interface UnaryParams {
  op: UnaryOp;
  /** element count */
  n: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export const UNARY_FNS: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  relu: (x) => Math.max(x, 0),
  sigmoid,
  silu: (x) => x * sigmoid(x),
  tanh: Math.tanh,
  square: (x) => x * x,
  recip: (x) => 1 / x,
};

export function unaryRef([x, out]: FloatArray[], p: UnaryParams): void {
  const f = UNARY_FNS[p.op];
  for (let i = 0; i < p.n; i++) out[i] = f(x[i]);
}
