/**
 * WGSL top-k of the decode retrieval on subgroups (hsaSelect's `topkMode: 'subgroup'`, v5): no
 * workgroup atomics per candidate, no serial counts over all candidates.
 *   offer (scan, a tile of ≤ 256 chunks): candidates no better than the list's k-th drop out; each
 *     subgroup with a live one sorts its lanes' candidates (bitonic, subgroupShuffleXor) and writes
 *     them as a sorted segment; every live candidate and list entry then counts the entries better
 *     than it in each other sorted run by binary search (log2 steps a run) and moves to that rank.
 *   merge: the top k of nb sorted lists lie in the k lists with the best heads (a list whose head is
 *     beaten by k other heads has nothing in the top k), so the heads are ranked as above, the k best
 *     lists loaded as sorted segments and their entries ranked by binary search: three barriers and
 *     two rounds of loads, whatever nb.
 * Order: score descending, ties by lower chunk index (topkWgsl's `better`); the empty list holds
 * (NEG, 2³²−k … 2³²−1); a dropped or empty candidate is (NEG, 2³²−1) and never written. The result
 * is the rank top-k's (a strict total order decides every place).
 * Needs the `subgroups` feature, full subgroups of a power-of-two size ≥ 4 dividing 256
 * (sgTopkUnsupported).
 */
import type { DeviceCaps } from '../core/program.js';

export const SG_WG = 256;
/** Largest k·min(k, nb) of the merge's segments (workgroup memory: 8 bytes an entry). */
export const SG_MERGE_MAX = 1024;

/** Why the subgroup top-k cannot run on a device (null when it can). */
export function sgTopkUnsupported(caps: DeviceCaps): string | null {
  if (!caps.subgroups) return 'no subgroups';
  const lo = caps.subgroupMinSize;
  const hi = caps.subgroupMaxSize ?? lo;
  const ok = (n: number) => n >= 4 && Number.isInteger(Math.log2(n)) && SG_WG % n === 0;
  if (!ok(lo) || !ok(hi)) return `subgroup sizes ${lo}–${hi} are not powers of two from 4 to ${SG_WG}`;
  if (caps.maxInvocations < SG_WG) return `needs ${SG_WG} invocations a workgroup`;
  return null;
}

export const SG_ENABLE = 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);';

/**
 * Module pieces: `better`, the list bS/bI, the segments segS/segI (256 entries), sgSort (bitonic,
 * best first, within the subgroup), cntBetter (entries of a sorted run better than (s, i)) and the
 * entry's private SL (lane) / SGS (subgroup size).
 */
export const sgTopkCommon = (KMAX: number, segLen: number): string => /* wgsl */ `
const NEG = -3.0e38;
const DEAD = 0xffffffffu;
fn better(s: f32, i: u32, t: f32, j: u32) -> bool { return s > t || (s == t && i < j); }
var<workgroup> bS: array<f32, ${KMAX}>;
var<workgroup> bI: array<u32, ${KMAX}>;
var<workgroup> segS: array<f32, ${segLen}>;
var<workgroup> segI: array<u32, ${segLen}>;
var<private> SL: u32;
var<private> SGS: u32;
// bitonic sort of the subgroup's (s, i), best first in lane order
fn sgSort(s0: f32, i0: u32) -> vec2<u32> {
  var s = s0; var i = i0;
  for (var size = 2u; size <= SGS; size <<= 1u) {
    let desc = (SL & size) == 0u;
    for (var st = size >> 1u; st > 0u; st >>= 1u) {
      let os = subgroupShuffleXor(s, st);
      let oi = subgroupShuffleXor(i, st);
      let ob = better(os, oi, s, i);
      if (select(!ob, ob, ((SL & st) == 0u) == desc)) { s = os; i = oi; }
    }
  }
  return vec2<u32>(bitcast<u32>(s), i);
}
// entries of segS/segI[b, b + n) (sorted best first) better than (s, i)
fn segBetter(b: u32, n: u32, s: f32, i: u32) -> u32 {
  var lo = 0u; var hi = n;
  while (lo < hi) { let m = (lo + hi) >> 1u; if (better(segS[b + m], segI[b + m], s, i)) { lo = m + 1u; } else { hi = m; } }
  return lo;
}
// entries of the list bS/bI better than (s, i)
fn listBetter(s: f32, i: u32) -> u32 {
  var lo = 0u; var hi = u.k;
  while (lo < hi) { let m = (lo + hi) >> 1u; if (better(bS[m], bI[m], s, i)) { lo = m + 1u; } else { hi = m; } }
  return lo;
}
fn topkInit(lid: u32) {
  if (lid < u.k) { bS[lid] = NEG; bI[lid] = 0xffffffffu - (u.k - 1u - lid); }
  workgroupBarrier();
}`;

/** The scan's offer (topkOffer's signature): one tile's candidates into the list. */
export const sgTopkOfferWgsl = (KMAX: number): string => /* wgsl */ `
${sgTopkCommon(KMAX, SG_WG)}
var<workgroup> nSeg: atomic<u32>;
fn topkOffer(lid: u32, has: bool, s0: f32, i0: u32) {
  let live0 = has && better(s0, i0, bS[u.k - 1u], bI[u.k - 1u]);
  var s = NEG; var i = DEAD; var g = 0u;
  let any = subgroupAny(live0);
  if (any) {
    let r = sgSort(select(NEG, s0, live0), select(DEAD, i0, live0));
    s = bitcast<f32>(r.x); i = r.y;
    var a = 0u;
    if (SL == 0u) { a = atomicAdd(&nSeg, 1u); }
    g = subgroupBroadcast(a, 0u);
    segS[g * SGS + SL] = s; segI[g * SGS + SL] = i;
  }
  workgroupBarrier();
  let ns = atomicLoad(&nSeg);
  let live = any && i != DEAD;
  var rank = SL;
  if (live) {
    for (var h = 0u; h < ns; h++) { if (h != g) { rank += segBetter(h * SGS, SGS, s, i); } }
    rank += listBetter(s, i);
  }
  let mine = lid < u.k;
  let ls = bS[min(lid, u.k - 1u)]; let li = bI[min(lid, u.k - 1u)];
  var lr = lid;
  if (mine && ns > 0u) {
    for (var h = 0u; h < ns; h++) { lr += segBetter(h * SGS, SGS, ls, li); }
  }
  workgroupBarrier();
  if (live && rank < u.k) { bS[rank] = s; bI[rank] = i; }
  if (mine && lr < u.k && lr != lid) { bS[lr] = ls; bI[lr] = li; }
  if (lid == 0u) { atomicStore(&nSeg, 0u); }
  workgroupBarrier();
}`;

/**
 * The merge (hsaMergeWgsl's place): `header` declares u, candS, candI, idx, w, sel; `finalize` is
 * finalizeParWgsl's text (reads bS/bI). Rows with more than 256 lists or k·min(k, nb) over
 * SG_MERGE_MAX use the other merge (hsaSelect.ts decides).
 */
export function hsaMergeSgWgsl(KMAX: number, header: string, finalize: string, entry: string): string {
  return /* wgsl */ `${SG_ENABLE}
${header}
${sgTopkCommon(KMAX, SG_MERGE_MAX)}
${finalize}
var<workgroup> chosen: array<u32, ${KMAX}>;
var<workgroup> nSeg: atomic<u32>;
${entry}
  let row = wgi;
  SL = sl; SGS = sgs;
  topkInit(lid);
  let nb = u.ncand / u.k;
  let L = min(u.k, nb);
  // 1. the heads: the L best lists (dead heads, empty blocks', choose nothing)
  let hb = lid < nb;
  let ho = row * u.ncand + min(lid, nb - 1u) * u.k;
  var hs = select(NEG, candS[ho], hb); var hi = select(DEAD, candI[ho], hb);
  if (hi == DEAD) { hs = NEG; }
  let r = sgSort(hs, hi);
  hs = bitcast<f32>(r.x); hi = r.y;
  var a = 0u;
  if (SL == 0u) { a = atomicAdd(&nSeg, 1u); }
  let g = subgroupBroadcast(a, 0u);
  segS[g * SGS + SL] = hs; segI[g * SGS + SL] = hi;
  if (lid < u.k) { chosen[lid] = DEAD; }
  workgroupBarrier();
  let ns = ${SG_WG}u / SGS;
  if (hi != DEAD) {
    var rank = SL;
    for (var h = 0u; h < ns; h++) { if (h != g) { rank += segBetter(h * SGS, SGS, hs, hi); } }
    if (rank < L) { chosen[rank] = hi / u.blockLen; }
  }
  workgroupBarrier();
  // 2. the chosen lists' entries as L sorted segments of k
  let ne = L * u.k;
  for (var e = lid; e < ne; e += ${SG_WG}u) {
    let b = chosen[e / u.k];
    var s = NEG; var c = DEAD;
    if (b != DEAD) { let o = row * u.ncand + b * u.k + e % u.k; s = candS[o]; c = candI[o]; }
    segS[e] = select(s, NEG, c == DEAD); segI[e] = c;
  }
  workgroupBarrier();
  // 3. each live entry's rank among them (binary search in the other L − 1 segments)
  var rs: array<f32, ${SG_MERGE_MAX / SG_WG}>;
  var ri: array<u32, ${SG_MERGE_MAX / SG_WG}>;
  var rr: array<u32, ${SG_MERGE_MAX / SG_WG}>;
  for (var q = 0u; q < ${SG_MERGE_MAX / SG_WG}u; q++) {
    let e = lid + q * ${SG_WG}u;
    rr[q] = DEAD;
    if (e < ne && segI[e] != DEAD) {
      let s = segS[e]; let c = segI[e];
      let own = e / u.k;
      var rank = e % u.k;
      for (var h = 0u; h < L; h++) { if (h != own) { rank += segBetter(h * u.k, u.k, s, c); } }
      rs[q] = s; ri[q] = c; rr[q] = rank;
    }
  }
  for (var q = 0u; q < ${SG_MERGE_MAX / SG_WG}u; q++) {
    if (rr[q] < u.k) { bS[rr[q]] = rs[q]; bI[rr[q]] = ri[q]; }
  }
  workgroupBarrier();
  finalizePar(lid, row / u.hr, row % u.hr);
}`;
}
