/**
 * crossEntropy fused with its gradient over logits [rows, V] (math in the ref): per row the max, Σexp,
 * the loss, and dlogits = softmax − onehot in one kernel; targets outside [0, V) mask the row.
 * v1: threadsPerRow(V) invocations per row, 256 / tpr rows per workgroup, segmented max and sum trees
 * (2 KiB of workgroup memory); three passes over the row (max, Σexp, write dlogits).
 * v2: two passes: the maximum and Σexp together (online softmax: the sum rescaled when the maximum
 * grows), one segmented tree over (max, sum) pairs, then the pass writing dlogits.
 * `scaled`: dlogits times 1 / denom (the mean's divisor, crossEntropyDenom), so the mean loss's
 *   backward need not pass over [rows, V] again (bench/train-step: 0.79 ms of a 4096 × 32000 scale).
 * crossEntropyDenom: one workgroup counts the targets in [0, V) (u32 per thread, then a tree).
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { threadsPerRow, wgslRowIndex, wgslWorkgroupReduce } from '../reduce/tree.wgsl.js';
import {
  type CrossEntropyDenomParams,
  type CrossEntropyParams,
  crossEntropyDenomRef,
  crossEntropyRef,
} from './crossEntropy.ref.js';

const WG = 256;
const U = defineUniforms({ rows: 'u32', n: 'u32' });
const buffers = (scaled: boolean): BufferBinding[] => [
  { name: 'xs', access: 'read', type: 'f32' },
  { name: 'tgt', access: 'read', type: 'i32' },
  ...(scaled ? [{ name: 'denom', access: 'read', type: 'f32' } as const] : []),
  { name: 'loss', access: 'read_write', type: 'f32' },
  { name: 'dx', access: 'read_write', type: 'f32' },
  { name: 'vmask', access: 'read_write', type: 'f32' },
];

// the lowest finite f32: the running maximum's start, so that m − max(m, x) never is −∞ − (−∞)
const LOWEST = '-3.40282346638528859812e38';

const wgsl = (tpr: number, scaled: boolean) => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(buffers(scaled), 'U')}
var<workgroup> row_m: array<f32, ${WG}>;
var<workgroup> row_s: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  ${wgslRowIndex(tpr, WG)}
  let t = select(-1, tgt[min(row, u.rows - 1u)], valid);
  let live = t >= 0 && u32(t) < u.n;
  let ti = select(0u, u32(t), live);
  // one pass for the maximum m and Σ exp(x − m), rescaled whenever m grows (online softmax)
  var m = ${LOWEST};
  var s = 0.0;
  for (var i = lane; i < n; i += ${tpr}u) {
    let x = xs[base + i];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  // the row's lanes combine their (m, s) pairs in a segmented tree
  row_m[lid] = m;
  row_s[lid] = s;
  workgroupBarrier();
  for (var st = ${tpr >> 1}u; st > 0u; st = st >> 1u) {
    if ((lid & ${tpr - 1}u) < st) {
      let m1 = row_m[lid];
      let m2 = row_m[lid + st];
      let mm = max(m1, m2);
      row_s[lid] = row_s[lid] * exp(m1 - mm) + row_s[lid + st] * exp(m2 - mm);
      row_m[lid] = mm;
    }
    workgroupBarrier();
  }
  m = row_m[lid & ${(~(tpr - 1)) >>> 0}u];
  s = row_s[lid & ${(~(tpr - 1)) >>> 0}u];
  let inv = ${scaled ? '1.0 / denom[0]' : '1.0'};
  for (var i = lane; i < n; i += ${tpr}u) {
    let g = exp(xs[base + i] - m) / s - select(0.0, 1.0, live && i == ti);
    dx[base + i] = select(0.0, g * inv, live);
  }
  if (valid && lane == 0u) {
    loss[row] = select(0.0, m + log(s) - xs[base + ti], live);
    vmask[row] = select(0.0, 1.0, live);
  }
}`;

export const crossEntropy: Kernel<CrossEntropyParams> = {
  name: 'crossEntropy',
  ref: (arrays, p) => crossEntropyRef(arrays as (Float32Array | Int32Array)[], p),
  program(p, caps) {
    const tpr = threadsPerRow(p.v, WG);
    const scaled = p.scaled === true;
    return {
      key: `crossEntropy:${tpr}${scaled ? ':scaled' : ''}`,
      code: () => wgsl(tpr, scaled),
      buffers: buffers(scaled),
      uniforms: U.pack({ rows: p.rows, n: p.v }),
      workgroups: p.rows === 0 || p.v === 0 ? [0, 1, 1] : grid(ceilDiv(p.rows, WG / tpr), caps),
    };
  },
};

const DENOM_BUFFERS: BufferBinding[] = [
  { name: 'tgt', access: 'read', type: 'i32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];

export const crossEntropyDenom: Kernel<CrossEntropyDenomParams> = {
  name: 'crossEntropyDenom',
  ref: (arrays, p) => crossEntropyDenomRef(arrays as (Float32Array | Int32Array)[], p),
  program: (p) => ({
    key: 'crossEntropyDenom',
    code: () => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(DENOM_BUFFERS, 'U')}
${wgslWorkgroupReduce('total', WG, 'sum')}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var n = 0u;
  for (var r = lid; r < u.rows; r += ${WG}u) {
    let t = tgt[r];
    n += select(0u, 1u, t >= 0 && u32(t) < u.n);
  }
  let all = total(lid, f32(n));
  if (lid == 0u) { out[0] = max(all, 1.0); }
}`,
    buffers: DENOM_BUFFERS,
    uniforms: U.pack({ rows: p.rows, n: p.v }),
    workgroups: [1, 1, 1],
  }),
};
