/**
 * swigluBackward: dgate = dy·u·σ(g)·(1 + g·(1 − σ(g))), dup = dy·g·σ(g), fused, f32.
 * v1: one element per thread, 256 threads, 2-D grid (as the forward).
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type SwigluBackwardParams, swigluBackwardRef } from './swigluBackward.ref.js';

const WG = 256;
const U = defineUniforms({ n: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'gate', access: 'read', type: 'f32' },
  { name: 'up', access: 'read', type: 'f32' },
  { name: 'dy', access: 'read', type: 'f32' },
  { name: 'dgate', access: 'read_write', type: 'f32' },
  { name: 'dup', access: 'read_write', type: 'f32' },
];

const wgsl = () => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (i >= u.n) { return; }
  let g = gate[i];
  let s = 1.0 / (1.0 + exp(-g));
  let d = dy[i];
  dgate[i] = d * up[i] * s * (1.0 + g * (1.0 - s));
  dup[i] = d * g * s;
}`;

export const swigluBackward: Kernel<SwigluBackwardParams> = {
  name: 'swigluBackward',
  ref: (arrays, p) => swigluBackwardRef(arrays as Float32Array[], p),
  program: (p, caps) => ({
    key: 'swigluBackward',
    code: wgsl,
    buffers: BUFFERS,
    uniforms: U.pack({ n: p.n }),
    workgroups: p.n === 0 ? [0, 1, 1] : grid(ceilDiv(p.n, WG), caps),
  }),
};
