/** WGSL for `binary` / `binaryScalar`: one thread per output element over a 2-D dispatch. */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
import type { BinaryOp } from './binary.ref.js';

const EXPR: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  max: 'max(a, b)',
  min: 'min(a, b)',
  pow: 'pow_np(a, b)',
};

/**
 * NumPy pow on f32: WGSL `pow` is undefined for a < 0, so take |a| and fix the sign for integer b
 * (NaN for a < 0 with a non-integer b, 1 for b == 0 as in IEEE pow).
 */
export const WGSL_POW_NP = /* wgsl */ `
fn pow_np(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  let r = exp2(b * log2(abs(a)));
  if (a >= 0.0) { return r; }
  // a var, so the NaN is built at run time (a const NaN is a WGSL error)
  var nan_bits = 0x7fc00000u;
  if (floor(b) != b) { return bitcast<f32>(nan_bits); }
  return select(r, -r, fract(b * 0.5) != 0.0);
}`;

function prelude(op: BinaryOp, wg: number, header: string): string {
  return `${header}
${op === 'pow' ? WGSL_POW_NP : ''}
fn f(a: f32, b: f32) -> f32 { return ${EXPR[op]}; }
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${wg}u + lid;
  if (i >= u.n) { return; }`;
}

/**
 * `header` declares `u` (n, shape0..5, a0..5, b0..5) and buffers `lhs`, `rhs`, `out`. `flat`: both
 * inputs have the output's shape, so the index is used directly.
 */
export function binaryWgsl(op: BinaryOp, wg: number, header: string, flat: boolean): string {
  if (flat) return `${prelude(op, wg, header)}\n  out[i] = f(lhs[i], rhs[i]);\n}`;
  const unravel = [5, 4, 3, 2, 1, 0]
    .map((d) => `  { let c = r % u.shape${d}; r = r / u.shape${d}; ia += c * u.a${d}; ib += c * u.b${d}; }`)
    .join('\n');
  return `${prelude(op, wg, header)}
  var r = i;
  var ia = 0u;
  var ib = 0u;
${unravel}
  out[i] = f(lhs[ia], rhs[ib]);
}`;
}

/**
 * The flat case four elements a thread (n a multiple of 4, not pow): `header4` declares `u` and the
 * buffers as arrays of vec4; thread i writes vec4 i of n / 4.
 */
export function binaryFlat4Wgsl(op: Exclude<BinaryOp, 'pow'>, wg: number, header4: string): string {
  return `${header4}
fn f(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> { return ${EXPR[op]}; }
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${wg}u + lid;
  if (i >= u.n / 4u) { return; }
  out[i] = f(lhs[i], rhs[i]);
}`;
}

/** `header` declares `u` (n, scalar) and buffers `xs`, `out`. */
export function binaryScalarWgsl(op: BinaryOp, wg: number, header: string): string {
  return `${prelude(op, wg, header)}\n  out[i] = f(xs[i], u.scalar);\n}`;
}
