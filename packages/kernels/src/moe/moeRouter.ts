/**
 * moeRouter: scores, biased (optionally group-limited) top-k and combine weights, per token.
 * Math in moeRouter.ref.ts. v1: one thread per token (E ≤ 256 is small): scores go to global memory
 * and the selection re-reads them; each pick is one pass over E that takes the best entry after the
 * previous pick in the total order (larger key, then lower index), so no mask and no sort are needed.
 * Allowed groups are a bit mask of 8 u32 words (≤ 256 groups).
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type MoeRouterParams, moeRouterRef } from './moeRouter.ref.js';

const WG = 64;
const U = defineUniforms({ T: 'u32', E: 'u32', k: 'u32', nGroup: 'u32', topkGroup: 'u32', scale: 'f32' });
const BUFFERS: BufferBinding[] = [
  { name: 'logits', access: 'read', type: 'f32' },
  { name: 'bias', access: 'read', type: 'f32' },
  { name: 'scores', access: 'read_write', type: 'f32' },
  { name: 'idx', access: 'read_write', type: 'i32' },
  { name: 'weights', access: 'read_write', type: 'f32' },
];

const SCORES = {
  sigmoid: `  for (var e = 0u; e < u.E; e++) { scores[o + e] = 1.0 / (1.0 + exp(-logits[o + e])); }`,
  softmax: `  var m = logits[o];
  for (var e = 1u; e < u.E; e++) { m = max(m, logits[o + e]); }
  var s = 0.0;
  for (var e = 0u; e < u.E; e++) { s += exp(logits[o + e] - m); }
  for (var e = 0u; e < u.E; e++) { scores[o + e] = exp(logits[o + e] - m) / s; }`,
};

/** Group mask: for each group its score (two best keys), then topkGroup selection passes over groups. */
const GROUPS = /* wgsl */ `
fn groupScore(o: u32, g: u32, gs: u32) -> f32 {
  var b1 = key(o, g * gs); var i1 = 0u;
  for (var i = 1u; i < gs; i++) { let v = key(o, g * gs + i); if (v > b1) { b1 = v; i1 = i; } }
  if (gs == 1u) { return b1; }
  var b2 = -3.0e38; var first = true;
  for (var i = 0u; i < gs; i++) {
    if (i == i1) { continue; }
    let v = key(o, g * gs + i);
    if (first || v > b2) { b2 = v; first = false; }
  }
  return b1 + b2;
}

fn allowGroups(o: u32) {
  for (var w = 0u; w < 8u; w++) { mask[w] = 0u; }
  let gs = u.E / u.nGroup;
  var pv = 3.4e38; var pi = -1;
  for (var j = 0u; j < u.topkGroup; j++) {
    var bv = 0.0; var bi = -1;
    for (var g = 0u; g < u.nGroup; g++) {
      let v = groupScore(o, g, gs);
      let gi = i32(g);
      if (!(v < pv || (v == pv && gi > pi))) { continue; }
      if (bi < 0 || v > bv) { bv = v; bi = gi; }
    }
    mask[u32(bi) >> 5u] |= 1u << (u32(bi) & 31u);
    pv = bv; pi = bi;
  }
}`;

const routerWgsl = (p: MoeRouterParams) => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
var<private> mask: array<u32, 8>;

fn key(o: u32, e: u32) -> f32 { return scores[o + e] + bias[e]; }
${GROUPS}

fn allowed(e: u32) -> bool {
  if (u.nGroup <= 1u) { return true; }
  let g = e / (u.E / u.nGroup);
  return (mask[g >> 5u] & (1u << (g & 31u))) != 0u;
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (t >= u.T) { return; }
  let o = t * u.E;
${SCORES[p.scoreFn]}
  if (u.nGroup > 1u) { allowGroups(o); }
  var pv = 3.4e38; var pi = -1;
  var sum = 0.0;
  for (var j = 0u; j < u.k; j++) {
    var bv = 0.0; var bi = -1;
    for (var e = 0u; e < u.E; e++) {
      let v = key(o, e);
      let ei = i32(e);
      if (!allowed(e) || !(v < pv || (v == pv && ei > pi))) { continue; }
      if (bi < 0 || v > bv) { bv = v; bi = ei; }
    }
    idx[t * u.k + j] = bi;
    sum += scores[o + u32(bi)];
    pv = bv; pi = bi;
  }
  for (var j = 0u; j < u.k; j++) {
    let w = scores[o + u32(idx[t * u.k + j])];
    weights[t * u.k + j] = ${p.norm ? 'w / sum' : 'w'} * u.scale;
  }
}`;

export const moeRouter: Kernel<MoeRouterParams> = {
  name: 'moeRouter',
  ref: moeRouterRef,
  program: (p, caps) => ({
    key: `moeRouter:${p.scoreFn}:${p.norm ? 'n' : 'r'}`,
    code: () => routerWgsl(p),
    buffers: BUFFERS,
    uniforms: U.pack({ T: p.T, E: p.E, k: p.k, nGroup: p.nGroup, topkGroup: p.topkGroup, scale: p.scale }),
    workgroups: p.T === 0 ? [0, 1, 1] : grid(ceilDiv(p.T, WG), caps),
  }),
};
