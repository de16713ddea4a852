/** WGSL for `softmax`: one workgroup per row; max, then Σexp, each a strided pass plus a tree. */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
import { wgslIdentity, wgslWorkgroupReduce } from '../reduce/tree.wgsl.js';

/** `header` declares `u` (rows, n) and buffers `xs`, `out`. */
export function softmaxWgsl(wg: number, header: string): string {
  return /* wgsl */ `
${header}
${wgslWorkgroupReduce('row_max', wg, 'max')}
${wgslWorkgroupReduce('row_sum', wg, 'sum')}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${WGSL_LINEAR_WORKGROUP};
  if (row >= u.rows) { return; }
  let base = row * u.n;
  ${wgslIdentity('ninf', 'max')}
  var m = ninf;
  for (var i = lid; i < u.n; i += ${wg}u) { m = max(m, xs[base + i]); }
  m = row_max(lid, m);
  var s = 0.0;
  for (var i = lid; i < u.n; i += ${wg}u) { s += exp(xs[base + i] - m); }
  s = row_sum(lid, s);
  for (var i = lid; i < u.n; i += ${wg}u) { out[base + i] = exp(xs[base + i] - m) / s; }
}`;
}
