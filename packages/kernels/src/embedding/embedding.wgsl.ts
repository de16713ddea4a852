/** WGSL for `embedding`: one thread per output element, the id clamped so no read leaves the table. */
import { wgslHalfLoad } from '../core/dtype.js';
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
import type { EmbeddingParams } from './embedding.ref.js';

/** `header` declares `u` (vocab, d, total) and the buffers `table`, `ids`, `out`. */
export function embeddingWgsl(dtype: EmbeddingParams['dtype'], wg: number, header: string): string {
  const load = dtype === 'f32' ? 'fn load(i: u32) -> f32 { return table[i]; }' : wgslHalfLoad('load', 'table', dtype);
  return /* wgsl */ `
${header}
${load}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${wg}u + lid;
  if (i >= u.total) { return; }
  let t = i / u.d;
  let j = i - t * u.d;
  let id = ids[t];
  let ok = id >= 0 && u32(id) < u.vocab;
  // the clamped row keeps the load in bounds; its value is discarded when the id is bad
  let row = select(0u, u32(id), ok);
  out[i] = select(0.0, load(row * u.d + j), ok);
}`;
}
