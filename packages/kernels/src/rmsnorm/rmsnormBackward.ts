/**
 * rmsNormBackward (dx and the saved rstd, f32 weight) and rmsNormWeightGrad (dw); math in the ref.
 * rmsNormBackward v1: threadsPerRow(n) invocations per row as the forward; one strided pass for Σx²
 * and Σ w·dy·x (two segmented trees, 2 KiB), then a pass writing dx.
 * rmsNormWeightGrad v1: one thread per column summing its rows in order (deterministic, no atomics).
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { threadsPerRow, wgslRowIndex, wgslWorkgroupReduce } from '../reduce/tree.wgsl.js';
import { type RmsNormBackwardParams, rmsNormBackwardRef, rmsNormWeightGradRef } from './rmsnormBackward.ref.js';

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

const UW = defineUniforms({ rows: 'u32', n: 'u32' });
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
  let j = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (j >= u.n) { return; }
  var s = 0.0;
  for (var r = 0u; r < u.rows; r++) { s += dy[r * u.n + j] * xs[r * u.n + j] * rstd[r]; }
  dw[j] = s;
}`;

export const rmsNormWeightGrad: Kernel<Omit<RmsNormBackwardParams, 'eps'>> = {
  name: 'rmsNormWeightGrad',
  ref: (arrays, p) => rmsNormWeightGradRef(arrays as Float32Array[], p),
  program: (p, caps) => ({
    key: 'rmsNormWeightGrad',
    code: wgslWeight,
    buffers: WBUFFERS,
    uniforms: UW.pack({ rows: p.rows, n: p.n }),
    workgroups: p.n === 0 ? [0, 1, 1] : grid(ceilDiv(p.n, WG), caps),
  }),
};
