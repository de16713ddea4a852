/**
 * Workgroup tree reduction shared by reduce, softmax and rmsNorm: each invocation contributes one
 * f32, log2(wg) halving steps in workgroup memory, every invocation gets the result.
 */

/** Combine expressions over `a` and `b`. */
export const COMBINE = { sum: 'a + b', max: 'max(a, b)', min: 'min(a, b)' } as const;
export type Combine = keyof typeof COMBINE;

/**
 * WGSL `fn <name>(lid: u32, v: f32) -> f32` over a workgroup of `wg` (a power of two ≤ 256; uses
 * 4·wg bytes of workgroup memory). Has barriers: call it from uniform control flow. The trailing
 * barrier lets the caller call it again.
 */
export function wgslWorkgroupReduce(name: string, wg: number, combine: Combine): string {
  if (wg & (wg - 1)) throw new RangeError(`workgroup reduction needs a power of two, got ${wg}`);
  return /* wgsl */ `
var<workgroup> ${name}_buf: array<f32, ${wg}>;
fn ${name}_op(a: f32, b: f32) -> f32 { return ${COMBINE[combine]}; }
fn ${name}(lid: u32, v: f32) -> f32 {
  ${name}_buf[lid] = v;
  workgroupBarrier();
  for (var s = ${wg >> 1}u; s > 0u; s = s >> 1u) {
    if (lid < s) { ${name}_buf[lid] = ${name}_op(${name}_buf[lid], ${name}_buf[lid + s]); }
    workgroupBarrier();
  }
  let r = ${name}_buf[0];
  workgroupBarrier();
  return r;
}`;
}

/** WGSL statement declaring `let <name>: f32` as ±inf or 0, the identity of `combine`. */
export function wgslIdentity(name: string, combine: Combine): string {
  if (combine === 'sum') return `let ${name} = 0.0;`;
  // built from a var: a const inf is a WGSL error
  const bits = combine === 'max' ? '0xff800000u' : '0x7f800000u';
  return `var ${name}_bits = ${bits};\n  let ${name} = bitcast<f32>(${name}_bits);`;
}
