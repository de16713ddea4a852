/**
 * rmsNorm over the last axis: y = w ⊙ x / sqrt(mean(x²) + eps), x f32, w f32 or packed f16/bf16.
 * v1: one workgroup of 256 per row (2-D grid): a strided Σx² pass closed by a tree reduction in
 * workgroup memory (1 KiB), then a pass writing w·(x·r). The weight dtype is in the key.
 * v2: threadsPerRow(n) invocations per row, 256 / tpr rows per workgroup (per-head norms have many
 * short rows), segmented trees.
 */
import { type DType, wgslHalfLoad } from '../core/dtype.js';
import { type BufferBinding, ceilDiv, grid, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { threadsPerRow, wgslRowIndex, wgslWorkgroupReduce } from '../reduce/tree.wgsl.js';
import { type RmsNormParams, rmsNormRef } from './rmsnorm.ref.js';

const WG = 256;
const U = defineUniforms({ rows: 'u32', n: 'u32', eps: 'f32' });

function buffers(wDtype: RmsNormParams['wDtype']): BufferBinding[] {
  return [
    { name: 'xs', access: 'read', type: 'f32' },
    { name: 'ws', access: 'read', type: wDtype === 'f32' ? 'f32' : 'u32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ];
}

function rmsNormWgsl(wDtype: RmsNormParams['wDtype'], tpr: number): string {
  const wload = wDtype === 'f32' ? 'fn wload(i: u32) -> f32 { return ws[i]; }' : wgslHalfLoad('wload', 'ws', wDtype);
  return /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(buffers(wDtype), 'U')}
${wload}
${wgslWorkgroupReduce('row_sum', WG, 'sum', tpr)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  ${wgslRowIndex(tpr, WG)}
  var ss = 0.0;
  for (var i = lane; i < n; i += ${tpr}u) { let v = xs[base + i]; ss += v * v; }
  ss = row_sum(lid, ss);
  let r = 1.0 / sqrt(ss / f32(u.n) + u.eps);
  for (var i = lane; i < n; i += ${tpr}u) { out[base + i] = wload(i) * (xs[base + i] * r); }
}`;
}

export const rmsNorm: Kernel<RmsNormParams> = {
  name: 'rmsNorm',
  ref: (arrays, p) => rmsNormRef(arrays as (Float32Array | Uint16Array)[], p),
  program(p, caps) {
    const tpr = threadsPerRow(p.n, WG);
    return {
      key: `rmsNorm:${p.wDtype}:${tpr}`,
      code: () => rmsNormWgsl(p.wDtype, tpr),
      buffers: buffers(p.wDtype),
      uniforms: U.pack({ rows: p.rows, n: p.n, eps: p.eps }),
      workgroups: p.rows === 0 ? [0, 1, 1] : grid(ceilDiv(p.rows, WG / tpr), caps),
    };
  },
};

/** Weight dtypes rmsNorm accepts. */
export const RMSNORM_WEIGHT_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16'];
