/**
 * sample: one token per row from its sorted top-k candidates, temperature, top-p and a uniform u.
 * v1: one thread per row, serial over k ≤ 256 (the sums run in the reference's order), 64 threads.
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type SampleParams, sampleRef } from './sample.ref.js';

const U = defineUniforms({ rows: 'u32', k: 'u32', invT: 'f32', topP: 'f32' });
const WG = 64;
const BUFFERS: BufferBinding[] = [
  { name: 'vals', access: 'read', type: 'f32' },
  { name: 'ids', access: 'read', type: 'i32' },
  { name: 'uni', access: 'read', type: 'f32' },
  { name: 'out', access: 'read_write', type: 'i32' },
];

function sampleWgsl(): string {
  return /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
fn w(base: u32, i: u32, m: f32) -> f32 {
  let e = exp((vals[base + i] - m) * u.invT);
  // a NaN candidate weighs nothing (checked on the bits: fast-math may fold e != e)
  return select(e, 0.0, (bitcast<u32>(e) & 0x7fffffffu) > 0x7f800000u);
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let r = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (r >= u.rows) { return; }
  let base = r * u.k;
  let m = vals[base];
  let mb = bitcast<u32>(m);
  if (mb == 0xff800000u || (mb & 0x7fffffffu) > 0x7f800000u) { out[r] = ids[base]; return; }
  var total = 0.0;
  for (var i = 0u; i < u.k; i++) { total += w(base, i, m); }
  var c = u.k - 1u;
  var cum = 0.0;
  for (var i = 0u; i < u.k; i++) {
    cum += w(base, i, m);
    if (cum >= u.topP * total) { c = i; break; }
  }
  let goal = uni[r] * cum;
  var pick = c;
  var acc = 0.0;
  for (var i = 0u; i <= c; i++) {
    acc += w(base, i, m);
    if (acc > goal) { pick = i; break; }
  }
  out[r] = ids[base + pick];
}`;
}

export const sample: Kernel<SampleParams> = {
  name: 'sample',
  ref: sampleRef,
  program: (p, caps) => ({
    key: 'sample',
    code: sampleWgsl,
    buffers: BUFFERS,
    uniforms: U.pack({ rows: p.rows, k: p.k, invT: 1 / p.temperature, topP: p.topP }),
    workgroups: grid(ceilDiv(p.rows, WG), caps),
  }),
};
