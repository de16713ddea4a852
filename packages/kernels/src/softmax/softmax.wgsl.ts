/** WGSL for `softmax`: `tpr` invocations per row; max, then Σexp, each strided partials plus a tree. */
import { wgslIdentity, wgslRowIndex, wgslWorkgroupReduce } from '../reduce/tree.wgsl.js';

/** `header` declares `u` (rows, n) and buffers `xs`, `out`. */
export function softmaxWgsl(wg: number, tpr: number, header: string): string {
  return /* wgsl */ `
${header}
${wgslWorkgroupReduce('row_max', wg, 'max', tpr)}
${wgslWorkgroupReduce('row_sum', wg, 'sum', tpr)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  ${wgslRowIndex(tpr, wg)}
  ${wgslIdentity('ninf', 'max')}
  var m = ninf;
  for (var i = lane; i < n; i += ${tpr}u) { m = max(m, xs[base + i]); }
  m = row_max(lid, m);
  var s = 0.0;
  for (var i = lane; i < n; i += ${tpr}u) { s += exp(xs[base + i] - m); }
  s = row_sum(lid, s);
  for (var i = lane; i < n; i += ${tpr}u) { out[base + i] = exp(xs[base + i] - m) / s; }
}`;
}
