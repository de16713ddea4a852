/**
 * moeCombine: the weighted sum of each token's k expert rows (+ the shared expert), math in
 * moeCombine.ref.ts. v1: one thread per output element, a deterministic fixed-order sum (no atomics).
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type MoeCombineParams, moeCombineRef } from './moeCombine.ref.js';

const WG = 256;
const U = defineUniforms({ T: 'u32', k: 'u32', d: 'u32' });

function buffers(shared: boolean): BufferBinding[] {
  return [
    { name: 'y', access: 'read', type: 'f32' },
    { name: 'w', access: 'read', type: 'f32' },
    ...(shared ? [{ name: 'sh', access: 'read' as const, type: 'f32' as const }] : []),
    { name: 'out', access: 'read_write', type: 'f32' },
  ];
}

const combineWgsl = (shared: boolean) => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(buffers(shared), 'U')}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (i >= u.T * u.d) { return; }
  let t = i / u.d;
  let c = i % u.d;
  var s = 0.0;
  for (var j = 0u; j < u.k; j++) { s += w[t * u.k + j] * y[(t * u.k + j) * u.d + c]; }
  out[i] = ${shared ? 's + sh[i]' : 's'};
}`;

export const moeCombine: Kernel<MoeCombineParams> = {
  name: 'moeCombine',
  ref: (arrays, p) => moeCombineRef(arrays as Float32Array[], p),
  program: (p, caps) => ({
    key: `moeCombine:${p.shared ? 's' : 'n'}`,
    code: () => combineWgsl(p.shared),
    buffers: buffers(p.shared),
    uniforms: U.pack({ T: p.T, k: p.k, d: p.d }),
    workgroups: p.T * p.d === 0 ? [0, 1, 1] : grid(ceilDiv(p.T * p.d, WG), caps),
  }),
};
