/**
 * The sequence-level balance loss (math in moeAuxLoss.ref.ts), two kernels:
 * moeAuxLossStats v1: one workgroup per sequence, thread e owns expert e (E ≤ 256): counts its picks,
 *   then sums p_te/Σ_e' p_te' over the sequence in slices of 256 tokens whose row sums the workgroup
 *   forms together; thread 0 adds f_e·P_e in expert order (deterministic).
 * moeAuxLossBackward v1: one thread per token, the row's sum, cross term and dot in expert order.
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import type { MoeScoreFn } from './moeRouter.ref.js';
import { type MoeAuxLossKernelParams, moeAuxLossBackwardKernelRef, moeAuxLossStatsRef } from './moeAuxLoss.ref.js';

const U = defineUniforms({ B: 'u32', S: 'u32', E: 'u32', k: 'u32', alpha: 'f32' });
const uniforms = (p: MoeAuxLossKernelParams) => U.pack({ B: p.B, S: p.S, E: p.E, k: p.k, alpha: p.alpha });

const STATS: BufferBinding[] = [
  { name: 'scores', access: 'read', type: 'f32' },
  { name: 'idx', access: 'read', type: 'i32' },
  { name: 'stats', access: 'read_write', type: 'f32' },
  { name: 'loss', access: 'read_write', type: 'f32' },
];

const statsWgsl = /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(STATS, 'U')}
var<workgroup> rowSum: array<f32, 256>;
var<workgroup> fp: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b = wid.x;
  let e = lid;
  let tEnd = (b + 1u) * u.S;
  var cnt = 0u;
  if (e < u.E) {
    for (var a = b * u.S * u.k; a < tEnd * u.k; a++) { if (u32(idx[a]) == e) { cnt++; } }
  }
  var P = 0.0;
  for (var t0 = b * u.S; t0 < tEnd; t0 += 256u) {
    workgroupBarrier();
    let t = t0 + lid;
    if (t < tEnd) {
      var s = 0.0;
      for (var j = 0u; j < u.E; j++) { s += scores[t * u.E + j]; }
      rowSum[lid] = s;
    }
    workgroupBarrier();
    if (e < u.E) {
      let n = min(256u, tEnd - t0);
      for (var i = 0u; i < n; i++) { P += scores[(t0 + i) * u.E + e] / rowSum[i]; }
    }
  }
  let fe = f32(cnt) * f32(u.E) / f32(u.k * u.S);
  let pe = P / f32(u.S);
  fp[lid] = 0.0;
  if (e < u.E) {
    stats[(b * u.E + e) * 2u] = fe;
    stats[(b * u.E + e) * 2u + 1u] = pe;
    fp[lid] = fe * pe;
  }
  workgroupBarrier();
  if (lid == 0u) {
    var L = 0.0;
    for (var j = 0u; j < u.E; j++) { L += fp[j]; }
    loss[b] = u.alpha * L;
  }
}`;

export const moeAuxLossStats: Kernel<MoeAuxLossKernelParams> = {
  name: 'moeAuxLossStats',
  ref: moeAuxLossStatsRef,
  program: (p) => ({ key: 'moeAuxLossStats', code: () => statsWgsl, buffers: STATS, uniforms: uniforms(p), workgroups: p.B === 0 ? [0, 1, 1] : [p.B, 1, 1] }),
};

const BACK: BufferBinding[] = [
  { name: 'scores', access: 'read', type: 'f32' },
  { name: 'stats', access: 'read', type: 'f32' },
  { name: 'dL', access: 'read', type: 'f32' },
  { name: 'dr', access: 'read_write', type: 'f32' },
];

const backWgsl = (fn: MoeScoreFn) => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BACK, 'U')}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = ${WGSL_LINEAR_WORKGROUP} * 64u + lid;
  if (t >= u.B * u.S) { return; }
  let b = t / u.S;
  let o = t * u.E;
  let so = b * u.E * 2u;
  let c = dL[0] * u.alpha / f32(u.B * u.S);
  var sum = 0.0;
  for (var e = 0u; e < u.E; e++) { sum += scores[o + e]; }
  var cross = 0.0;
  for (var e = 0u; e < u.E; e++) { cross += c * stats[so + 2u * e] * (scores[o + e] / sum); }
  var dot = 0.0;
  for (var e = 0u; e < u.E; e++) { dot += (c * stats[so + 2u * e] - cross) / sum * scores[o + e]; }
  for (var e = 0u; e < u.E; e++) {
    let ds = (c * stats[so + 2u * e] - cross) / sum;
    let s = scores[o + e];
    dr[o + e] = ${fn === 'sigmoid' ? 'ds * s * (1.0 - s)' : 's * (ds - dot)'};
  }
}`;

export const moeAuxLossBackward: Kernel<MoeAuxLossKernelParams & { scoreFn: MoeScoreFn }> = {
  name: 'moeAuxLossBackward',
  ref: moeAuxLossBackwardKernelRef,
  program: (p, caps) => ({
    key: `moeAuxLossBackward:${p.scoreFn}`,
    code: () => backWgsl(p.scoreFn),
    buffers: BACK,
    uniforms: uniforms(p),
    workgroups: p.B * p.S === 0 ? [0, 1, 1] : grid(ceilDiv(p.B * p.S, 64), caps),
  }),
};
