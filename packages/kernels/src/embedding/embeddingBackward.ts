/**
 * embeddingBackward: dtable[v, :] = Σ_{t: ids[t] = v} dy[t, :] in ascending t, without atomics.
 * v1: one workgroup per token t (2-D grid); the workgroup owns row ids[t] only when t is that id's
 * first occurrence (a strided scan of ids[0..t) closed by a max tree), and then sums dy over the
 * tokens t' ≥ t with the same id, 256 columns at a time. Every row has one owner, so the result is
 * bit-identical run to run. Cost O(n²/256 + n·d) per workgroup set: fine for n up to ~10⁴ tokens.
 */
import { type BufferBinding, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { wgslWorkgroupReduce } from '../reduce/tree.wgsl.js';
import { type EmbeddingBackwardParams, embeddingBackwardRef } from './embeddingBackward.ref.js';

const WG = 256;
const U = defineUniforms({ vocab: 'u32', d: 'u32', n: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'ids', access: 'read', type: 'i32' },
  { name: 'dy', access: 'read', type: 'f32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];

const wgsl = () => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
${wgslWorkgroupReduce('seen', WG, 'max')}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = ${WGSL_LINEAR_WORKGROUP};
  let inRange = t < u.n;
  let id = select(-1, ids[min(t, u.n - 1u)], inRange);
  var s = 0.0;
  for (var k = lid; k < select(0u, t, inRange); k += ${WG}u) { if (ids[k] == id) { s = 1.0; } }
  let earlier = seen(lid, s);
  if (!inRange || earlier > 0.0 || id < 0 || u32(id) >= u.vocab) { return; }
  let row = u32(id) * u.d;
  for (var j = lid; j < u.d; j += ${WG}u) {
    var acc = 0.0;
    for (var k = t; k < u.n; k++) { if (ids[k] == id) { acc += dy[k * u.d + j]; } }
    out[row + j] = acc;
  }
}`;

export const embeddingBackward: Kernel<EmbeddingBackwardParams> = {
  name: 'embeddingBackward',
  ref: (arrays, p) => embeddingBackwardRef(arrays as (Float32Array | Int32Array)[], p),
  program: (p, caps) => ({
    key: 'embeddingBackward',
    code: wgsl,
    buffers: BUFFERS,
    uniforms: U.pack({ vocab: p.vocab, d: p.d, n: p.n }),
    workgroups: p.n === 0 ? [0, 1, 1] : grid(p.n, caps),
  }),
};
