/**
 * WGSL top-k of the decode retrieval on subgroups (hsaSelect's `topkMode: 'subgroup'`, v5): sorted
 * lists of KM entries (k rounded up to a power of two ≥ 2, at most the subgroup size SG) merged by
 * bitonic steps between lanes (subgroupShuffle / subgroupShuffleXor): no per-candidate atomics and no
 * serial counts in workgroup memory (whose dependent steps cost ~0.12 µs each on the H200).
 *   scan (blocks of one tile, ≤ 256 chunks): each subgroup sorts its SG candidates (bitonic) and keeps
 *     its best KM as a list; the 256/SG lists are merged as a tree (sgTree: FAN = 2·SG/KM lists a
 *     level, a barrier a level; two lists merge as lane i taking the better of A[i] and B[KM−1−i], a
 *     bitonic sequence holding the best KM, sorted in log2 KM steps; the KM-lane groups of a
 *     subgroup then merge the same way by halving).
 *   merge: the nb lists of a row staged in workgroup memory and merged as the same tree; the slot rules
 *     (valid slots most recent first: a bitonic sort by chunk index) and the fusion weights
 *     (subgroupMax / subgroupAdd / subgroupInclusiveAdd) in one subgroup.
 * Order: score descending, ties by lower chunk index (topkWgsl's `better`); missing entries are
 * (NEG, 2³²−1) and come last. The top k is the rank top-k's.
 * Needs the `subgroups` feature with one subgroup size SG, a power of two from 4 to 256, and KM ≤ SG
 * (sgTopkUnsupported); the merge stages nb·KM ≤ SG_MERGE_MAX entries.
 */
import { type DeviceCaps, WGSL_SUBGROUPS } from '../core/program.js';
import { TOPK_ORDER } from './hsaSelectTopk.wgsl.js';

export const SG_WG = 256;
/** Most entries (lists × KM) the merge stages in workgroup memory (8 bytes each). */
export const SG_MERGE_MAX = 2048;

/** Why the subgroup top-k cannot run on a device for lists of KM (null when it can). */
export function sgTopkUnsupported(caps: DeviceCaps, KM: number): string | null {
  if (!caps.subgroups) return 'no subgroups';
  const sg = caps.subgroupMinSize;
  if ((caps.subgroupMaxSize ?? sg) !== sg) return `subgroup size not fixed (${sg}–${caps.subgroupMaxSize})`;
  if (!(sg >= 4 && sg <= SG_WG && Number.isInteger(Math.log2(sg)))) return `subgroup size ${sg} is not a power of two from 4 to ${SG_WG}`;
  if (KM > sg) return `lists of ${KM} do not fit subgroups of ${sg}`;
  if (caps.maxInvocations < SG_WG) return `needs ${SG_WG} invocations a workgroup`;
  return null;
}

/** The lists' length for k candidates: k rounded up to a power of two, at least 2. */
export const sgListLength = (k: number): number => Math.max(2, 2 ** Math.ceil(Math.log2(Math.max(k, 1))));

/**
 * Module pieces for subgroups of SG lanes and lists of KM: `better`, the lists lS/lI (NL lists),
 * the lane SL and subgroup index G (private, set by sgInit), sgSort (the subgroup's SG entries, best
 * first in lane order), sgClean (sorts each KM-lane group holding a bitonic sequence) and sgTree (merges
 * lists 0 … n−1 into list 0, a barrier a level).
 */
export function sgTopkCommon(SG: number, KM: number, NL: number): string {
  const pairs = SG / KM;
  return /* wgsl */ `
${TOPK_ORDER}
const DEAD = 0xffffffffu;
const SG = ${SG}u;
const KM = ${KM}u;
const FAN = ${2 * pairs}u;
var<workgroup> lS: array<f32, ${NL * KM}>;
var<workgroup> lI: array<u32, ${NL * KM}>;
var<workgroup> nSg: atomic<u32>;
var<private> SL: u32;
var<private> G: u32;
struct Ent { s: f32, i: u32 }
// the subgroup index G (0 … 256/SG − 1, in arrival order); call once, uniformly, before any barrier's use of G
fn sgInit(sl: u32) {
  SL = sl;
  var a = 0u;
  if (SL == 0u) { a = atomicAdd(&nSg, 1u); }
  G = subgroupBroadcast(a, 0u);
}
fn xchg(e: Ent, st: u32, desc: bool) -> Ent {
  let o = Ent(subgroupShuffleXor(e.s, st), subgroupShuffleXor(e.i, st));
  let ob = better(o.s, o.i, e.s, e.i);
  if (select(!ob, ob, ((SL & st) == 0u) == desc)) { return o; }
  return e;
}
fn sgSort(e0: Ent) -> Ent {
  var e = e0;
  for (var size = 2u; size <= SG; size <<= 1u) {
    for (var st = size >> 1u; st > 0u; st >>= 1u) { e = xchg(e, st, (SL & size) == 0u); }
  }
  return e;
}
fn sgClean(e0: Ent) -> Ent {
  var e = e0;
  for (var st = KM >> 1u; st > 0u; st >>= 1u) { e = xchg(e, st, true); }
  return e;
}
fn ent(o: u32, ok: bool) -> Ent { if (ok) { return Ent(lS[o], lI[o]); } return Ent(NEG, DEAD); }
fn best(x: Ent, y: Ent) -> Ent { if (better(x.s, x.i, y.s, y.i)) { return x; } return y; }
// a subgroup's FAN lists merged into one (its first KM lanes): lane (q, i) holds entry i of list 2q in
// a and entry KM − 1 − i of list 2q + 1 in b; each KM-lane group merges its pair, then the groups'
// lists are merged by halving within the subgroup
fn sgGroup(a: Ent, b: Ent) -> Ent {
  let q = SL / KM;
  let i = SL % KM;
  var e = sgClean(best(a, b));
  for (var hq = ${Math.floor(pairs / 2)}u; hq > 0u; hq >>= 1u) {
    let o = Ent(subgroupShuffle(e.s, (q + hq) * KM + KM - 1u - i), subgroupShuffle(e.i, (q + hq) * KM + KM - 1u - i));
    e = sgClean(best(e, o));
  }
  return e;
}
// lists 0 … n − 1 (sorted, KM entries each) merged into list 0, FAN lists a level (sgGroup), a barrier a level
fn sgTree(n: u32) {
  let q = SL / KM;
  let i = SL % KM;
  for (var st = 1u; st < n; st *= FAN) {
    let ng = (n + FAN * st - 1u) / (FAN * st);
    for (var g0 = 0u; g0 < ng; g0 += ${SG_WG / SG}u) {
      let a = (g0 + G) * FAN * st;
      let l0 = a + 2u * q * st;
      let l1 = l0 + st;
      let e = sgGroup(ent(min(l0, n - 1u) * KM + i, l0 < n), ent(min(l1, n - 1u) * KM + KM - 1u - i, l1 < n));
      if (q == 0u && g0 + G < ng) { lS[a * KM + i] = e.s; lI[a * KM + i] = e.i; }
    }
    workgroupBarrier();
  }
}`;
}

/**
 * The scan's top-k for hsaScan4Wgsl over blocks of one tile (topkInit / topkOffer; the block's best
 * list is list 0 after the offer): each subgroup's sorted best KM, merged as the tree.
 */
export function sgTopkOfferWgsl(SG: number, KM: number): string {
  return /* wgsl */ `
${sgTopkCommon(SG, KM, SG_WG / SG)}
// the barrier orders the scan's staged query (qv) before the first tile's dots read it, as v4's topkInit does
fn topkInit(lid: u32) { workgroupBarrier(); }
fn topkOffer(lid: u32, has: bool, s0: f32, i0: u32) {
  let e = sgSort(Ent(select(NEG, s0, has), select(DEAD, i0, has)));
  if (SL < KM) { lS[G * KM + SL] = e.s; lI[G * KM + SL] = e.i; }
  workgroupBarrier();
  sgTree(${SG_WG / SG}u);
}`;
}

/**
 * The merge of one retrieval row as a WGSL function (after sgTopkCommon's pieces): `sgMergeRow(row,
 * lid, out)` stages the row's nb lists of candS/candI, merges them (sgTree), then in one subgroup
 * orders the valid slots most recent first and computes the fusion weights: slot j's chunk and weight
 * land in mI[j] / mW[j] (workgroup memory, after the closing barrier), and with `out` in idx, w, sel.
 * Needs u (ncand, k, hr, hk, posOffset, stick, posDecay and validSlots' fields), candS, candI, idx,
 * w, sel; called uniformly by all SG_WG invocations. NL: lists staged (≥ nb).
 */
export function sgMergeFns(SG: number, KM: number, NL = SG_MERGE_MAX / KM): string {
  return /* wgsl */ `
${sgTopkCommon(SG, KM, NL)}
// −∞ (a private variable: a constant's bitcast would be folded and refused)
var<private> NINF_BITS: u32 = 0xff800000u;
var<workgroup> mW: array<f32, ${KM}>;
var<workgroup> mI: array<i32, ${KM}>;
// bitonic sort of each KM-lane group by key, descending (keys of valid slots distinct)
fn keySort(k0: u32, s0: f32) -> vec2<u32> {
  var k = k0; var s = s0;
  for (var size = 2u; size <= KM; size <<= 1u) {
    for (var st = size >> 1u; st > 0u; st >>= 1u) {
      let ok = subgroupShuffleXor(k, st); let os = subgroupShuffleXor(s, st);
      let desc = (SL & size) == 0u || size == KM;
      if (select((ok < k), (ok > k), ((SL & st) == 0u) == desc)) { k = ok; s = os; }
    }
  }
  return vec2<u32>(k, bitcast<u32>(s));
}
// entry j of the row's candidate list l (missing past nb lists or k entries)
fn cand(row: u32, l: u32, j: u32, nb: u32) -> Ent {
  if (l >= nb || j >= u.k) { return Ent(NEG, DEAD); }
  let o = row * u.ncand + l * u.k + j;
  let c = candI[o];
  return Ent(select(candS[o], NEG, c == DEAD), c);
}
fn sgMergeRow(row: u32, lid: u32, out: bool) {
  let nb = u.ncand / u.k;
  // the tree's first level straight from the candidate lists (no staging), its ng lists into lS / lI
  let ng = (nb + FAN - 1u) / FAN;
  for (var g0 = 0u; g0 < ng; g0 += ${SG_WG / SG}u) {
    let l0 = (g0 + G) * FAN + 2u * (SL / KM);
    let i = SL % KM;
    let e = sgGroup(cand(row, l0, i, nb), cand(row, l0 + 1u, KM - 1u - i, nb));
    if (SL < KM && g0 + G < ng) { lS[(g0 + G) * KM + i] = e.s; lI[(g0 + G) * KM + i] = e.i; }
  }
  workgroupBarrier();
  sgTree(ng);
  // slot rules and fusion weights: lane j of each subgroup's first KM lanes (the same in every subgroup, G 0 writes)
  let j = SL % KM;
  let t = row / u.hr;
  let h = row % u.hr;
  let valid = validSlots(u.posOffset + t);
  let r = keySort(select(0u, lI[j] + 1u, j < valid), lS[j]);
  let sj = select(0.0, bitcast<f32>(r.y), j < valid);
  let inK = j < u.k && SL < KM;
  let live = inK && j < valid && sj > NEG;
  let x = select(-1.0e7, sj + f32(j) * u.posDecay, live);
  let any = subgroupAny(live);
  var wj = 0.0;
  if (u.stick != 0u) {
    let cum = subgroupInclusiveAdd(select(0.0, select(log(1.0 + exp(sj)), sj, sj > 15.0), live));
    wj = select(0.0, exp(sj - cum), live);
  } else {
    let m = subgroupMax(select(-1.0e7, x, inK));
    let e = exp(x - m);
    let z = subgroupAdd(select(0.0, e, inK));
    wj = select(e / z, 0.0, !any);
  }
  let c = select(0, i32(r.x) - 1, j < valid);
  if (G == 0u && inK) {
    mW[j] = wj; mI[j] = c;
    if (out) {
      sel[row * u.k + j] = select(bitcast<f32>(NINF_BITS), sj, live);
      for (var g = 0u; g < u.hk; g++) {
        if (u.hr == 1u || g == h) {
          idx[(t * u.hk + g) * u.k + j] = c;
          w[(t * u.hk + g) * u.k + j] = wj;
        }
      }
    }
  }
  workgroupBarrier();
}`;
}

/**
 * The merge (hsaMergeWgsl's place): `header` declares u, candS, candI, idx, w, sel; `entry` opens main
 * with lid, wgi, sl. Used where a row's nb lists of KM fit SG_MERGE_MAX (hsaSelect.ts decides).
 */
export function hsaMergeSgWgsl(SG: number, KM: number, header: string, entry: string): string {
  return /* wgsl */ `${WGSL_SUBGROUPS}
${header}
${sgMergeFns(SG, KM)}
${entry}
  sgInit(sl);
  sgMergeRow(wgi, lid, true);
}`;
}
