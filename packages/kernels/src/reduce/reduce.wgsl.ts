/** WGSL for `reduce`: a workgroup per output (tree reduction) or a thread per output (a loop). */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
import type { ReduceOp } from './reduce.ref.js';
import { type Combine, wgslIdentity, wgslWorkgroupReduce } from './tree.wgsl.js';

const combineOf = (op: ReduceOp): Combine => (op === 'mean' ? 'sum' : op);
const finish = (op: ReduceOp, acc: string) => (op === 'mean' ? `${acc} / f32(u.r)` : acc);

/**
 * Output idx = (o, b, j) of [outer, nb, inner] (nb = 1 without a chunk) reads x[o, b·chunk + k, j] at
 * base + k·inner, k < len.
 */
const LOCATE = /* wgsl */ `  let o = idx / (u.nb * u.inner);
  let b = (idx / u.inner) % u.nb;
  let j = idx % u.inner;
  let base = (o * u.r + b * u.chunk) * u.inner + j;
  let len = min(u.chunk, u.r - b * u.chunk);`;

/** A workgroup per output; `header` declares `u`, `xs`, `out`. */
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
${LOCATE}
  ${wgslIdentity('init', c)}
  var acc = init;
  for (var k = lid; k < len; k += ${wg}u) {
    let a = acc;
    let b = xs[base + k * u.inner];
    acc = ${c === 'sum' ? 'a + b' : `${c}(a, b)`};
  }
  let total = wg_reduce(lid, acc);
  if (lid == 0u) { out[idx] = ${finish(op, 'total')}; }
}`;
}

/**
 * A thread per output, or with `four` a thread per four consecutive outputs (inner a multiple of 4:
 * they share o and b, and their inputs are whole vec4s; `header` then declares `xs` and `out` as
 * arrays of vec4). `header` declares `u`, `xs`, `out`.
 */
export function reduceThreadWgsl(op: ReduceOp, wg: number, header: string, four = false): string {
  const c = combineOf(op);
  return /* wgsl */ `
${header}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
${
  four
    ? `  let q = ${WGSL_LINEAR_WORKGROUP} * ${wg}u + lid;
  if (q >= u.count / 4u) { return; }
  let idx = q * 4u;`
    : `  let idx = ${WGSL_LINEAR_WORKGROUP} * ${wg}u + lid;
  if (idx >= u.count) { return; }`
}
${LOCATE}
  ${wgslIdentity('init', c)}
  var acc = ${four ? 'vec4<f32>(init)' : 'init'};
  for (var k = 0u; k < len; k++) {
    let a = acc;
    let b = xs[${four ? '(base + k * u.inner) >> 2u' : 'base + k * u.inner'}];
    acc = ${c === 'sum' ? 'a + b' : `${c}(a, b)`};
  }
  out[${four ? 'q' : 'idx'}] = ${finish(op, 'acc')};
}`;
}
