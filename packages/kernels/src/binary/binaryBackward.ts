/**
 * binaryBackward: da, db of out = f(a, b) for div, max, min over the broadcast output shape (math in
 * binaryBackward.ref.ts; the op sums each down to its operand's shape). v1: one element per thread,
 * the operands read through the same per-dim strides as `binary` (rank ≤ 6).
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { BINARY_MAX_RANK } from './binary.ref.js';
import { type BinaryBackwardOp, type BinaryBackwardParams, binaryBackwardRef } from './binaryBackward.ref.js';

const WG = 256;
const DIMS = [0, 1, 2, 3, 4, 5];
const U = defineUniforms({
  n: 'u32',
  ...Object.fromEntries(DIMS.map((d) => [`shape${d}`, 'u32'])),
  ...Object.fromEntries(DIMS.map((d) => [`a${d}`, 'u32'])),
  ...Object.fromEntries(DIMS.map((d) => [`b${d}`, 'u32'])),
} as Record<string, 'u32'>);
const BUFFERS: BufferBinding[] = [
  { name: 'lhs', access: 'read', type: 'f32' },
  { name: 'rhs', access: 'read', type: 'f32' },
  { name: 'dy', access: 'read', type: 'f32' },
  { name: 'da', access: 'read_write', type: 'f32' },
  { name: 'db', access: 'read_write', type: 'f32' },
];

const GRAD: Record<BinaryBackwardOp, string> = {
  div: 'return vec2f(g / b, -(g * (a / b)) / b);',
  max: 'let s = select(select(0.0, 1.0, a > b), 0.5, a == b);\n  return vec2f(g * s, g * (1.0 - s));',
  min: 'let s = select(select(0.0, 1.0, a < b), 0.5, a == b);\n  return vec2f(g * s, g * (1.0 - s));',
};

const wgsl = (op: BinaryBackwardOp) => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
fn grad(a: f32, b: f32, g: f32) -> vec2f {
  ${GRAD[op]}
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (i >= u.n) { return; }
  var r = i;
  var ia = 0u;
  var ib = 0u;
${[5, 4, 3, 2, 1, 0].map((d) => `  { let c = r % u.shape${d}; r = r / u.shape${d}; ia += c * u.a${d}; ib += c * u.b${d}; }`).join('\n')}
  let g = grad(lhs[ia], rhs[ib], dy[i]);
  da[i] = g.x;
  db[i] = g.y;
}`;

export const binaryBackward: Kernel<BinaryBackwardParams> = {
  name: 'binaryBackward',
  ref: (arrays, p) => binaryBackwardRef(arrays as Float32Array[], p),
  program(p, caps) {
    const rank = p.shape.length;
    if (rank > BINARY_MAX_RANK) throw new RangeError(`binaryBackward supports rank ≤ ${BINARY_MAX_RANK}, got ${rank}`);
    const pad = BINARY_MAX_RANK - rank;
    const n = p.shape.reduce((a, b) => a * b, 1);
    const values: Record<string, number> = { n };
    for (const d of DIMS) {
      values[`shape${d}`] = d < pad ? 1 : p.shape[d - pad];
      values[`a${d}`] = d < pad ? 0 : p.aStrides[d - pad];
      values[`b${d}`] = d < pad ? 0 : p.bStrides[d - pad];
    }
    return {
      key: `binaryBackward:${p.op}`,
      code: () => wgsl(p.op),
      buffers: BUFFERS,
      uniforms: U.pack(values),
      workgroups: grid(ceilDiv(n, WG), caps),
    };
  },
};
