/** WGSL for `unary`: one thread per element, grid-strided over a 2-D dispatch. */
import { elementwiseWgsl } from '../core/elementwise.js';
import type { UnaryOp } from './unary.ref.js';

const EXPR: Record<UnaryOp, string> = {
  neg: '-x',
  exp: 'exp(x)',
  log: 'log(x)',
  sqrt: 'sqrt(x)',
  rsqrt: 'inverseSqrt(x)',
  abs: 'abs(x)',
  relu: 'max(x, 0.0)',
  // through e = exp(-|x|) so large |x| neither overflows nor loses the small tail
  sigmoid: 'select(exp(-abs(x)) / (1.0 + exp(-abs(x))), 1.0 / (1.0 + exp(-abs(x))), x >= 0.0)',
  silu: 'x / (1.0 + exp(-x))',
  tanh: 'tanh(clamp(x, -15.0, 15.0))',
  square: 'x * x',
  recip: '1.0 / x',
};

/** `header` declares the uniform struct `U` as `u` and the buffers `xs` and `out`. */
export function unaryWgsl(op: UnaryOp, header: string): string {
  return elementwiseWgsl(header, '  out[i] = f(xs[i]);', `fn f(x: f32) -> f32 { return ${EXPR[op]}; }`);
}
