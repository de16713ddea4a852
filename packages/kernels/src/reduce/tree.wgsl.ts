/**
 * Workgroup tree reduction shared by reduce, softmax and rmsNorm: each invocation contributes one
 * f32, log2(wg) halving steps in workgroup memory, every invocation gets the result.
 */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';

/** Combine expressions over `a` and `b`. */
export const COMBINE = { sum: 'a + b', max: 'max(a, b)', min: 'min(a, b)' } as const;
export type Combine = keyof typeof COMBINE;

/**
 * WGSL `fn <name>(lid: u32, v: f32) -> f32`: reduces each aligned segment of `seg` invocations of a
 * workgroup of `wg` (both powers of two, seg ≤ wg ≤ 256; 4·wg bytes of workgroup memory) and gives
 * every invocation its segment's result; seg = wg reduces the whole workgroup. Has barriers: call it
 * from uniform control flow. The trailing barrier lets the caller call it again.
 */
export function wgslWorkgroupReduce(name: string, wg: number, combine: Combine, seg = wg): string {
  if (wg & (wg - 1) || seg & (seg - 1) || seg > wg) {
    throw new RangeError(`workgroup reduction needs powers of two seg ≤ wg, got ${seg}, ${wg}`);
  }
  return /* wgsl */ `
var<workgroup> ${name}_buf: array<f32, ${wg}>;
fn ${name}_op(a: f32, b: f32) -> f32 { return ${COMBINE[combine]}; }
fn ${name}(lid: u32, v: f32) -> f32 {
  ${name}_buf[lid] = v;
  workgroupBarrier();
  for (var s = ${seg >> 1}u; s > 0u; s = s >> 1u) {
    if ((lid & ${seg - 1}u) < s) { ${name}_buf[lid] = ${name}_op(${name}_buf[lid], ${name}_buf[lid + s]); }
    workgroupBarrier();
  }
  let r = ${name}_buf[lid & ${(~(seg - 1)) >>> 0}u];
  workgroupBarrier();
  return r;
}`;
}

/**
 * Invocations per row for a row-wise kernel (softmax, rmsNorm) over rows of length n: about 4
 * elements each, a power of two ≤ wg, so short rows share a workgroup (wg / tpr rows each) instead
 * of idling 256 invocations per row. A size class, not a size: at most 9 pipelines per kernel.
 */
export function threadsPerRow(n: number, wg = 256): number {
  let t = 1;
  while (t < wg && t * 4 < n) t *= 2;
  return t;
}

/**
 * WGSL lines for a row-wise kernel with `tpr` invocations per row: `lane` (0..tpr), `row`, `valid`
 * (row < u.rows), `n` (u.n, or 0 for the padding rows of the last workgroup, so loops skip them
 * while every invocation still reaches the barriers) and `base` = row·u.n. Needs `wid`, `nwg`, `lid`.
 */
export function wgslRowIndex(tpr: number, wg: number): string {
  return `let lane = lid % ${tpr}u;
  let row = ${WGSL_LINEAR_WORKGROUP} * ${wg / tpr}u + lid / ${tpr}u;
  let valid = row < u.rows;
  let n = select(0u, u.n, valid);
  let base = row * u.n;`;
}

/** WGSL statement declaring `let <name>: f32` as ±inf or 0, the identity of `combine`. */
export function wgslIdentity(name: string, combine: Combine): string {
  if (combine === 'sum') return `let ${name} = 0.0;`;
  // built from a var: a const inf is a WGSL error
  const bits = combine === 'max' ? '0xff800000u' : '0x7f800000u';
  return `var ${name}_bits = ${bits};\n  let ${name} = bitcast<f32>(${name}_bits);`;
}
