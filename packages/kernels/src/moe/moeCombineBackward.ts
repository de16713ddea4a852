/**
 * moeCombineBackward: dy = w·g and dw = g·y per assignment (math in moeCombineBackward.ref.ts).
 * v1: one workgroup per assignment t·k + j: 256 threads stride over d writing dy and summing g·y,
 * then a fixed tree reduction in workgroup memory (deterministic, no atomics).
 */
import { type BufferBinding, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type MoeCombineBackwardParams, moeCombineBackwardRef } from './moeCombineBackward.ref.js';

const WG = 256;
const U = defineUniforms({ A: 'u32', k: 'u32', d: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'g', access: 'read', type: 'f32' },
  { name: 'y', access: 'read', type: 'f32' },
  { name: 'w', access: 'read', type: 'f32' },
  { name: 'dy', access: 'read_write', type: 'f32' },
  { name: 'dw', access: 'read_write', type: 'f32' },
];

const combineBackwardWgsl = /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let a = ${WGSL_LINEAR_WORKGROUP};
  if (a >= u.A) { return; }
  let t = a / u.k;
  let wa = w[a];
  var s = 0.0;
  for (var c = lid; c < u.d; c += ${WG}u) {
    let gv = g[t * u.d + c];
    dy[a * u.d + c] = wa * gv;
    s = fma(gv, y[a * u.d + c], s);
  }
  part[lid] = s;
  for (var h = ${WG / 2}u; h > 0u; h >>= 1u) {
    workgroupBarrier();
    if (lid < h) { part[lid] += part[lid + h]; }
  }
  if (lid == 0u) { dw[a] = part[0]; }
}`;

export const moeCombineBackward: Kernel<MoeCombineBackwardParams> = {
  name: 'moeCombineBackward',
  ref: moeCombineBackwardRef,
  program: (p, caps) => ({
    key: 'moeCombineBackward',
    code: () => combineBackwardWgsl,
    buffers: BUFFERS,
    uniforms: U.pack({ A: p.T * p.k, k: p.k, d: p.d }),
    workgroups: p.T * p.k === 0 ? [0, 1, 1] : grid(p.T * p.k, caps),
  }),
};
