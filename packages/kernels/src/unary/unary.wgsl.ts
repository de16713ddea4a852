/** WGSL for `unary`: one thread per element, grid-strided over a 2-D dispatch. */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
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
export function unaryWgsl(op: UnaryOp, wg: number, header: string): string {
  return /* wgsl */ `
${header}
fn f(x: f32) -> f32 { return ${EXPR[op]}; }
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${wg}u + lid;
  if (i >= u.n) { return; }
  out[i] = f(xs[i]);
}`;
}
