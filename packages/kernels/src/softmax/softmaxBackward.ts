/**
 * softmaxBackward over the last axis: dx = y ⊙ (dy − Σ dy ⊙ y), from the saved forward output y.
 * v1: threadsPerRow(n) invocations per row (as the forward v2), one strided pass for Σ dy·y closed
 * by a segmented tree in workgroup memory (1 KiB), then a pass writing dx.
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { threadsPerRow, wgslRowIndex, wgslWorkgroupReduce } from '../reduce/tree.wgsl.js';
import type { SoftmaxParams } from './softmax.ref.js';
import { softmaxBackwardRef } from './softmaxBackward.ref.js';

const WG = 256;
const U = defineUniforms({ rows: 'u32', n: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'ys', access: 'read', type: 'f32' },
  { name: 'dy', access: 'read', type: 'f32' },
  { name: 'dx', access: 'read_write', type: 'f32' },
];

const wgsl = (tpr: number) => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
${wgslWorkgroupReduce('row_sum', WG, 'sum', tpr)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  ${wgslRowIndex(tpr, WG)}
  var s = 0.0;
  for (var i = lane; i < n; i += ${tpr}u) { s += dy[base + i] * ys[base + i]; }
  s = row_sum(lid, s);
  for (var i = lane; i < n; i += ${tpr}u) { dx[base + i] = ys[base + i] * (dy[base + i] - s); }
}`;

export const softmaxBackward: Kernel<SoftmaxParams> = {
  name: 'softmaxBackward',
  ref: (arrays, p) => softmaxBackwardRef(arrays as Float32Array[], p),
  program(p, caps) {
    const tpr = threadsPerRow(p.n, WG);
    return {
      key: `softmaxBackward:${tpr}`,
      code: () => wgsl(tpr),
      buffers: BUFFERS,
      uniforms: U.pack({ rows: p.rows, n: p.n }),
      workgroups: p.rows === 0 || p.n === 0 ? [0, 1, 1] : grid(ceilDiv(p.rows, WG / tpr), caps),
    };
  },
};
