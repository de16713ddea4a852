/**
 * rmsNormBackward (dx and the saved rstd, f32 weight) and rmsNormWeightGrad (dw); math in the ref.
 * rmsNormBackward v1: threadsPerRow(n) invocations per row as the forward; one strided pass for Σx²
 * and Σ w·dy·x (two segmented trees, 2 KiB), then a pass writing dx.
 * rmsNormWeightGrad v1: one thread per column summing its rows in order (deterministic, no atomics);
 * v2: one thread per (block of rows, column) writing a partial, so 4096 rows × 512 columns run as
 * 64 × 512 threads instead of 512 (the op sums the partials over blocks in a second, reduce, pass).
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { threadsPerRow, wgslRowIndex, wgslWorkgroupReduce } from '../reduce/tree.wgsl.js';
import {
  type RmsNormBackwardParams,
  type RmsNormWeightGradParams,
  rmsNormBackwardRef,
  rmsNormWeightGradBlocks,
  rmsNormWeightGradRef,
} from './rmsnormBackward.ref.js';

const WG = 256;
const U = defineUniforms({ rows: 'u32', n: 'u32', eps: 'f32' });
const BUFFERS: BufferBinding[] = [
  { name: 'xs', access: 'read', type: 'f32' },
  { name: 'ws', access: 'read', type: 'f32' },
  { name: 'dy', access: 'read', type: 'f32' },
  { name: 'dx', access: 'read_write', type: 'f32' },
  { name: 'rstd', access: 'read_write', type: 'f32' },
];

const wgsl = (tpr: number) => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
${wgslWorkgroupReduce('sum_a', WG, 'sum', tpr)}
${wgslWorkgroupReduce('sum_b', WG, 'sum', tpr)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  ${wgslRowIndex(tpr, WG)}
  var ss = 0.0;
  var dot = 0.0;
  for (var i = lane; i < n; i += ${tpr}u) {
    let v = xs[base + i];
    ss += v * v;
    dot += ws[i] * dy[base + i] * v;
  }
  ss = sum_a(lid, ss);
  dot = sum_b(lid, dot);
  let r = 1.0 / sqrt(ss / f32(u.n) + u.eps);
  let c = r * r * r * dot / f32(u.n);
  for (var i = lane; i < n; i += ${tpr}u) { dx[base + i] = r * ws[i] * dy[base + i] - xs[base + i] * c; }
  if (valid && lane == 0u) { rstd[row] = r; }
}`;

export const rmsNormBackward: Kernel<RmsNormBackwardParams> = {
  name: 'rmsNormBackward',
  ref: (arrays, p) => rmsNormBackwardRef(arrays as Float32Array[], p),
  program(p, caps) {
    const tpr = threadsPerRow(p.n, WG);
    return {
      key: `rmsNormBackward:${tpr}`,
      code: () => wgsl(tpr),
      buffers: BUFFERS,
      uniforms: U.pack({ rows: p.rows, n: p.n, eps: p.eps }),
      workgroups: p.rows === 0 ? [0, 1, 1] : grid(ceilDiv(p.rows, WG / tpr), caps),
    };
  },
};

const UW = defineUniforms({ rows: 'u32', n: 'u32', block: 'u32', count: 'u32' });
const WBUFFERS: BufferBinding[] = [
  { name: 'xs', access: 'read', type: 'f32' },
  { name: 'dy', access: 'read', type: 'f32' },
  { name: 'rstd', access: 'read', type: 'f32' },
  { name: 'dw', access: 'read_write', type: 'f32' },
];

const wgslWeight = () => /* wgsl */ `
${UW.wgsl('U')}
${wgslBindings(WBUFFERS, 'U')}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (i >= u.count) { return; }
  let j = i % u.n;
  let r0 = (i / u.n) * u.block;
  var s = 0.0;
  for (var r = r0; r < min(u.rows, r0 + u.block); r++) { s += dy[r * u.n + j] * xs[r * u.n + j] * rstd[r]; }
  dw[i] = s;
}`;

export const rmsNormWeightGrad: Kernel<RmsNormWeightGradParams> = {
  name: 'rmsNormWeightGrad',
  ref: (arrays, p) => rmsNormWeightGradRef(arrays as Float32Array[], p),
  program: (p, caps) => {
    const count = p.n * rmsNormWeightGradBlocks(p);
    return {
      key: 'rmsNormWeightGrad',
      code: wgslWeight,
      buffers: WBUFFERS,
      uniforms: UW.pack({ rows: p.rows, n: p.n, block: p.block ?? p.rows, count }),
      workgroups: count === 0 ? [0, 1, 1] : grid(ceilDiv(count, WG), caps),
    };
  },
};
