/**
 * moeRouter: scores, biased (optionally group-limited) top-k and combine weights, per token.
 * Math in moeRouter.ref.ts. v1: one thread per token (E ≤ 256 is small): scores go to global memory
 * and the selection re-reads them; each pick is one pass over E that takes the best entry after the
 * previous pick in the total order (larger key, then lower index), so no mask and no sort are needed.
 * Allowed groups are a bit mask of 8 u32 words (≤ 256 groups).
 * v2 (`variant: 'workgroup'`, the default for T ≤ {@link MOE_ROUTER_WORKGROUP_MAX_T}, i.e. decode): one
 * 64-thread workgroup per token; scores in workgroup memory, each pick a strided local best per thread
 * and a tree reduction in the same order (the group mask, rare, by one thread from workgroup memory).
 * v1 is one serial thread per token reading its scores back from global memory: latency-bound for one
 * token, where v2's passes are a few barriers each (H200, one token of E 64, k 4: 7.2 µs against 28.2).
 * v3 (`selectOnSubgroups`, the default where the device has subgroups): v2 with each pick's best found
 * by a butterfly of subgroupShuffleXor over the subgroup's strided local bests (every subgroup
 * reaches the same pick; no barrier a step), not a tree through workgroup memory.
 * v4 (`subgroupPicks: 'reduce'`, the default with subgroups): each pick by two subgroup reductions
 * instead of log2(subgroup) shuffle pairs: subgroupMax of a u32 code in the keys' order (the f32 bits
 * made monotone, −0 as +0), then subgroupMin of the indices that hold it: the same total order.
 * The selection is also WGSL for other kernels (wgslRouteSelect: moeGatherMatvec's decode gate/up).
 * Tried for decode and dropped: the router's logits x·W_gᵀ in the selection's workgroup (one dispatch
 * instead of the matvec and this): one workgroup reading the 512 KB of W_g took 34.1 µs, against 3.3
 * for the matvec; the picks by rank counting (each expert counts the eligible ones ahead of it, one
 * barrier): 9.2 µs against the passes' 7.2.
 */
import { ArgumentError } from '../core/errors.js';
import { type BufferBinding, ceilDiv, type DeviceCaps, grid, type Kernel, WGSL_LINEAR_WORKGROUP, WGSL_SUBGROUPS, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { MOE_MAX_EXPERTS, type MoeRouterParams, moeRouterRef } from './moeRouter.ref.js';

const WG = 64;
/** Up to this many tokens `auto` routes with one workgroup per token (v2), beyond it one thread (v1). */
export const MOE_ROUTER_WORKGROUP_MAX_T = 1024;
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

/** v2 scores into workgroup memory `sc` from `logit(o, e)` (softmax: max and sum by tree reductions over `rv`). */
function scoresWg(fn: MoeRouterParams['scoreFn'], wg: number): string {
  const loop = `for (var e = lid; e < u.E; e += ${wg}u)`;
  const reduce = (op: string) => `  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { ${op} }
    workgroupBarrier();
  }`;
  if (fn === 'sigmoid') return `  ${loop} { sc[e] = 1.0 / (1.0 + exp(-logit(o, e))); }`;
  return `  var m = -3.4e38;
  ${loop} { m = max(m, logit(o, e)); }
  rv[lid] = m;
${reduce('rv[lid] = max(rv[lid], rv[lid + s]);')}
  m = rv[0];
  workgroupBarrier();
  var z = 0.0;
  ${loop} { z += exp(logit(o, e) - m); }
  rv[lid] = z;
${reduce('rv[lid] += rv[lid + s];')}
  z = rv[0];
  ${loop} { sc[e] = exp(logit(o, e) - m) / z; }`;
}

/**
 * The workgroup selection (v2) as WGSL for a workgroup of `wg` threads (a power of two): workgroup
 * arrays sc (scores), ky (keys), pick (the chosen experts) and
 *   fn routeToken(o, lid, passes) -> f32: scores of the logits row at o (`logit(o, e)`, defined by the
 *   caller) and keys, the group mask (one thread), then `passes` picks into pick[0 … passes): each a
 *   strided local best and a tree in the order of moeSelect (with `sg`, v3: a subgroup butterfly, the
 *   entry setting RSL / RSG through ROUTE_LANES); returns Σ sc[pick] (in thread 0).
 * Call it from uniform control flow (it has barriers). Needs uniforms E, nGroup, topkGroup and `bias`.
 */
/**
 * WGSL: (bv, bi) ← the best key of experts start, start + stride, … that are allowed and follow the
 * previous pick (pv, pi) in the order (larger key, then lower index); bi = −1 when none.
 */
const localBest = (start: string, stride: string) => `    var bv = 0.0; var bi = -1;
    for (var e = ${start}; e < u.E; e += ${stride}) {
      let v = ky[e];
      let ei = i32(e);
      if (!allowed(e) || !(v < pv || (v == pv && ei > pi))) { continue; }
      if (bi < 0 || v > bv) { bv = v; bi = ei; }
    }`;

export function wgslRouteSelect(scoreFn: MoeRouterParams['scoreFn'], wg: number, sg = false, picks: SubgroupPicks = 'reduce'): string {
  const reduce = picks === 'reduce';
  return /* wgsl */ `${
    sg && reduce
      ? `
// a u32 code in the order of the f32 keys (−0 as +0; NaN not a key), ≥ 1
fn orderCode(v: f32) -> u32 {
  let u = bitcast<u32>(v);
  let c = select(u, 0u, (u & 0x7fffffffu) == 0u);
  return select(c | 0x80000000u, ~c, (c & 0x80000000u) != 0u);
}`
      : ''
  }
var<workgroup> mask: array<u32, 8>;
var<workgroup> sc: array<f32, ${MOE_MAX_EXPERTS}>;
var<workgroup> ky: array<f32, ${MOE_MAX_EXPERTS}>;
var<workgroup> pick: array<i32, ${MOE_MAX_EXPERTS}>;
var<workgroup> rv: array<f32, ${wg}>;
var<workgroup> ri: array<i32, ${wg}>;
${sg ? '// the lane and subgroup size (set by the entry: ROUTE_LANES)\nvar<private> RSL: u32;\nvar<private> RSG: u32;' : ''}

fn key(o: u32, e: u32) -> f32 { return ky[e]; }
${GROUPS}

fn allowed(e: u32) -> bool {
  if (u.nGroup <= 1u) { return true; }
  let g = e / (u.E / u.nGroup);
  return (mask[g >> 5u] & (1u << (g & 31u))) != 0u;
}

fn routeToken(o: u32, lid: u32, passes: u32) -> f32 {
${scoresWg(scoreFn, wg)}
  for (var e = lid; e < u.E; e += ${wg}u) { ky[e] = sc[e] + bias[e]; }
  workgroupBarrier();
  if (u.nGroup > 1u) {
    if (lid == 0u) { allowGroups(o); }
    workgroupBarrier();
  }
${sg ? `  var pv = 3.4e38; var pi = -1;
  var sum = 0.0;
  for (var j = 0u; j < passes; j++) {
${localBest('RSL', 'RSG')}
${
  reduce
    ? `    // v4: the subgroup's best by two reductions: the largest order code of the keys (0: none), then
    // the lowest index holding it (the same total order as the tree)
    let kb = select(0u, orderCode(bv), bi >= 0);
    let mk = subgroupMax(kb);
    let mi = subgroupMin(select(0xffffffffu, u32(bi), bi >= 0 && kb == mk));
    bi = select(-1, i32(mi), mk != 0u);
    bv = select(0.0, ky[u32(max(bi, 0))], bi >= 0);`
    : `    // every lane ends with the subgroup's best (the same total order as the tree)
    for (var st = RSG >> 1u; st > 0u; st >>= 1u) {
      let ov = subgroupShuffleXor(bv, st); let oi = subgroupShuffleXor(bi, st);
      if (oi >= 0 && (bi < 0 || ov > bv || (ov == bv && oi < bi))) { bv = ov; bi = oi; }
    }`
}
    pv = bv; pi = bi;
    if (lid == 0u) { pick[j] = pi; }
    sum += sc[u32(pi)];
  }
  workgroupBarrier();
` : `  var pv = 3.4e38; var pi = -1;
  var sum = 0.0;
  for (var j = 0u; j < passes; j++) {
${localBest('lid', `${wg}u`)}
    rv[lid] = bv; ri[lid] = bi;
    workgroupBarrier();
    for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
      if (lid < s) {
        let ov = rv[lid + s]; let oi = ri[lid + s];
        let mi = ri[lid];
        if (oi >= 0 && (mi < 0 || ov > rv[lid] || (ov == rv[lid] && oi < mi))) { rv[lid] = ov; ri[lid] = oi; }
      }
      workgroupBarrier();
    }
    pv = rv[0]; pi = ri[0];
    if (lid == 0u) {
      pick[j] = pi;
      sum += sc[u32(pi)];
    }
    workgroupBarrier();
  }
`}  return sum;
}`;
}

/** The entry's subgroup builtins and the selection's lane registers (with wgslRouteSelect's `sg`). */
export const ROUTE_LANES = { params: ', @builtin(subgroup_invocation_id) rsl: u32, @builtin(subgroup_size) rsg: u32', init: '  RSL = rsl; RSG = rsg;\n' };

type SubgroupPicks = NonNullable<MoeRouterParams['subgroupPicks']>;
/** How the selection's picks on subgroups find each best: asked, else by two reductions (v4). */
export const subgroupPicks = (p: Pick<MoeRouterParams, 'subgroupPicks'>): SubgroupPicks => p.subgroupPicks ?? 'reduce';

/** Whether the selection runs its picks on subgroups (v3): asked, else where the device has them. */
export function routeOnSubgroups(p: Pick<MoeRouterParams, 'selectOnSubgroups'>, caps: DeviceCaps): boolean {
  const sg = p.selectOnSubgroups ?? caps.subgroups;
  if (sg && !caps.subgroups) throw new ArgumentError('moeRouter: the selection on subgroups needs the subgroups feature');
  return sg;
}

/** One workgroup a token: wgslRouteSelect's k picks, then the weights (thread 0) and the scores. */
const routerWgslWorkgroup = (p: MoeRouterParams, sg: boolean) => /* wgsl */ `${sg ? WGSL_SUBGROUPS : ''}
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
fn logit(o: u32, e: u32) -> f32 { return logits[o + e]; }
${wgslRouteSelect(p.scoreFn, WG, sg, subgroupPicks(p))}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32${sg ? ROUTE_LANES.params : ''}) {
${sg ? ROUTE_LANES.init : ''}  let t = ${WGSL_LINEAR_WORKGROUP};
  if (t >= u.T) { return; }
  let o = t * u.E;
  let sum = routeToken(o, lid, u.k);
  if (lid == 0u) {
    for (var j = 0u; j < u.k; j++) {
      idx[t * u.k + j] = pick[j];
      let w = sc[u32(pick[j])];
      weights[t * u.k + j] = ${p.norm ? 'w / sum' : 'w'} * u.scale;
    }
  }
  for (var e = lid; e < u.E; e += ${WG}u) { scores[o + e] = sc[e]; }
}`;

/** The variant a call runs: its own choice, else one workgroup a token up to a batch of decode size. */
export function moeRouterVariant(p: MoeRouterParams): 'thread' | 'workgroup' {
  if (p.variant && p.variant !== 'auto') return p.variant;
  return p.T <= MOE_ROUTER_WORKGROUP_MAX_T ? 'workgroup' : 'thread';
}

export const moeRouter: Kernel<MoeRouterParams> = {
  name: 'moeRouter',
  ref: moeRouterRef,
  program: (p, caps) => {
    const wg = moeRouterVariant(p) === 'workgroup';
    const sg = wg && routeOnSubgroups(p, caps);
    return {
      key: `moeRouter:${wg ? (sg ? `wgsg:${subgroupPicks(p)}` : 'wg') : 'thread'}:${p.scoreFn}:${p.norm ? 'n' : 'r'}`,
      code: () => (wg ? routerWgslWorkgroup(p, sg) : routerWgsl(p)),
      buffers: BUFFERS,
      uniforms: U.pack({ T: p.T, E: p.E, k: p.k, nGroup: p.nGroup, topkGroup: p.topkGroup, scale: p.scale }),
      workgroups: p.T === 0 ? [0, 1, 1] : grid(wg ? p.T : ceilDiv(p.T, WG), caps),
    };
  },
};
