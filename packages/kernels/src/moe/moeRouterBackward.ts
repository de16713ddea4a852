/**
 * moeRouterBackward: dL/dlogits from dL/dw of the combine weights (math in moeRouterBackward.ref.ts).
 * v1: one thread per token; a row of E gradients is written, then the k chosen entries overwritten.
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type MoeRouterBackwardParams, moeRouterBackwardRef } from './moeRouterBackward.ref.js';

const WG = 64;
const U = defineUniforms({ T: 'u32', E: 'u32', k: 'u32', scale: 'f32' });
const BUFFERS: BufferBinding[] = [
  { name: 'scores', access: 'read', type: 'f32' },
  { name: 'idx', access: 'read', type: 'i32' },
  { name: 'dw', access: 'read', type: 'f32' },
  { name: 'dr', access: 'read_write', type: 'f32' },
];

const routerBackwardWgsl = (p: MoeRouterBackwardParams) => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (t >= u.T) { return; }
  let o = t * u.E;
  let ko = t * u.k;
  var S = 1.0;
  var cross = 0.0;
${
  p.norm
    ? `  S = 0.0;
  for (var j = 0u; j < u.k; j++) { S += scores[o + u32(idx[ko + j])]; }
  for (var j = 0u; j < u.k; j++) { cross += dw[ko + j] * scores[o + u32(idx[ko + j])]; }`
    : ''
}
  var dot = 0.0;
  for (var j = 0u; j < u.k; j++) { dot += (u.scale * (dw[ko + j] - cross / S)) / S * scores[o + u32(idx[ko + j])]; }
  for (var e = 0u; e < u.E; e++) { dr[o + e] = ${p.scoreFn === 'softmax' ? '-scores[o + e] * dot' : '0.0'}; }
  for (var j = 0u; j < u.k; j++) {
    let e = u32(idx[ko + j]);
    let dp = (u.scale * (dw[ko + j] - cross / S)) / S;
    let s = scores[o + e];
    dr[o + e] = ${p.scoreFn === 'softmax' ? 's * (dp - dot)' : 'dp * s * (1.0 - s)'};
  }
}`;

export const moeRouterBackward: Kernel<MoeRouterBackwardParams> = {
  name: 'moeRouterBackward',
  ref: moeRouterBackwardRef,
  program: (p, caps) => ({
    key: `moeRouterBackward:${p.scoreFn}:${p.norm}`,
    code: () => routerBackwardWgsl(p),
    buffers: BUFFERS,
    uniforms: U.pack({ T: p.T, E: p.E, k: p.k, scale: p.scale }),
    workgroups: p.T === 0 ? [0, 1, 1] : grid(ceilDiv(p.T, WG), caps),
  }),
};
