/** WGSL for `reduce`: a workgroup per output (tree reduction) or a thread per output (a loop). */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
import type { ReduceOp } from './reduce.ref.js';
import { type Combine, wgslIdentity, wgslWorkgroupReduce } from './tree.wgsl.js';

const combineOf = (op: ReduceOp): Combine => (op === 'mean' ? 'sum' : op);
const finish = (op: ReduceOp, acc: string) => (op === 'mean' ? `${acc} / f32(u.r)` : acc);

/** x[o, k, j] at base + k·inner with base = o·R·inner + j; `header` declares `u`, `xs`, `out`. */
export function reduceWorkgroupWgsl(op: ReduceOp, wg: number, header: string): string {
  const c = combineOf(op);
  return /* wgsl */ `
${header}
${wgslWorkgroupReduce('wg_reduce', wg, c)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let idx = ${WGSL_LINEAR_WORKGROUP};
  if (idx >= u.count) { return; }
  let o = idx / u.inner;
  let j = idx % u.inner;
  let base = o * u.r * u.inner + j;
  ${wgslIdentity('init', c)}
  var acc = init;
  for (var k = lid; k < u.r; k += ${wg}u) {
    let a = acc;
    let b = xs[base + k * u.inner];
    acc = ${c === 'sum' ? 'a + b' : `${c}(a, b)`};
  }
  let total = wg_reduce(lid, acc);
  if (lid == 0u) { out[idx] = ${finish(op, 'total')}; }
}`;
}

export function reduceThreadWgsl(op: ReduceOp, wg: number, header: string): string {
  const c = combineOf(op);
  return /* wgsl */ `
${header}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let idx = ${WGSL_LINEAR_WORKGROUP} * ${wg}u + lid;
  if (idx >= u.count) { return; }
  let o = idx / u.inner;
  let j = idx % u.inner;
  let base = o * u.r * u.inner + j;
  ${wgslIdentity('init', c)}
  var acc = init;
  for (var k = 0u; k < u.r; k++) {
    let a = acc;
    let b = xs[base + k * u.inner];
    acc = ${c === 'sum' ? 'a + b' : `${c}(a, b)`};
  }
  out[idx] = ${finish(op, 'acc')};
}`;
}
