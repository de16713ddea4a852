/**
 * swiglu: out = silu(gate) ⊙ up, fused (one read of each input, one write), f32.
 * v1: one element per thread, 256 threads, 2-D grid. silu(g) = g / (1 + exp(−g)): for g → −∞ the
 * denominator goes to +inf and the quotient to −0, never NaN.
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type SwigluParams, swigluRef } from './swiglu.ref.js';

const WG = 256;
const U = defineUniforms({ n: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'gate', access: 'read', type: 'f32' },
  { name: 'up', access: 'read', type: 'f32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];

const swigluWgsl = () => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (i >= u.n) { return; }
  let g = gate[i];
  out[i] = g / (1.0 + exp(-g)) * up[i];
}`;

export const swiglu: Kernel<SwigluParams> = {
  name: 'swiglu',
  ref: (arrays, p) => swigluRef(arrays as Float32Array[], p),
  program: (p, caps) => ({
    key: 'swiglu',
    code: swigluWgsl,
    buffers: BUFFERS,
    uniforms: U.pack({ n: p.n }),
    workgroups: p.n === 0 ? [0, 1, 1] : grid(ceilDiv(p.n, WG), caps),
  }),
};
