/**
 * WGSL for HSA retrieval selection. Each invocation keeps its own best-k list (insertion, O(k) per
 * candidate, most candidates rejected by one compare) over a strided share of a row's candidates;
 * the workgroup's lists are then merged pairwise in log2(WG) rounds. Order: score descending, ties
 * by lower chunk index; masked chunks score NEG, empty entries are (NEG, 0xffffffff) and lose ties.
 *   fused: candidates are the landmark scores of all C chunks, then the slot rules and the fusion
 *   scan:  landmark scores of one block of chunks → that block's best k (candidate lists)
 *   merge: the candidate lists of all blocks of a row (each sorted) → the slot rules and the fusion
 */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
import { range } from '../core/codegen.js';

export type SelectMode = 'fused' | 'scan' | 'merge';

export interface SelectShape {
  mode: SelectMode;
  /** invocations per workgroup */
  WG: number;
  /** compiled list capacity (≥ k) */
  KMAX: number;
  /** retrieval head size (compiled in) */
  DR: number;
  /**
   * fused, DR a multiple of 4 (v2): the query in registers, landmarks bound as vec4 (the caller
   * declares lmk as array<vec4<f32>>), and (without the mask window) no visit of the chunks past the
   * last visible one
   */
  vec4?: boolean;
}

/** The order of candidates: score descending, ties by lower chunk index; NEG and the empty entry. */
const SELECT_ORDER = /* wgsl */ `
const NEG = -3.0e38;
var<private> NINF_BITS: u32 = 0xff800000u;
fn better(s: f32, i: u32, t: f32, j: u32) -> bool { return s > t || (s == t && i < j); }`;

export const selectListWgsl = (KMAX: number): string => /* wgsl */ `${SELECT_ORDER}
var<private> ls: array<f32, ${KMAX}>;
var<private> li: array<u32, ${KMAX}>;
// the list's last (k-th best) entry, kept beside it so that a rejection reads no list memory
var<private> lastS: f32 = NEG;
var<private> lastI: u32 = 0xffffffffu;
fn insert(s: f32, i: u32) {
  let k = u.k;
  if (!better(s, i, lastS, lastI)) { return; }
  var j = k - 1u;
  while (j > 0u && better(s, i, ls[j - 1u], li[j - 1u])) { ls[j] = ls[j - 1u]; li[j] = li[j - 1u]; j--; }
  ls[j] = s; li[j] = i;
  lastS = ls[k - 1u]; lastI = li[k - 1u];
}`;

/** Pairwise merge of the lists of invocations 0 … WG−1 into list 0 of shS/shI (all invocations call it). */
export const selectMergeWgsl = (WG: number, KMAX: number): string => /* wgsl */ `
var<workgroup> shS: array<f32, ${WG * KMAX}>;
var<workgroup> shI: array<u32, ${WG * KMAX}>;
fn mergeLists(lid: u32) {
  let k = u.k;
  if (lid < ${WG}u) { for (var j = 0u; j < k; j++) { shS[lid * ${KMAX}u + j] = ls[j]; shI[lid * ${KMAX}u + j] = li[j]; } }
  for (var stride = ${WG / 2}u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) {
      var a = lid * ${KMAX}u; var b = (lid + stride) * ${KMAX}u;
      let ae = a + k; let be = b + k;
      for (var j = 0u; j < k; j++) {
        let takeA = b >= be || (a < ae && better(shS[a], shI[a], shS[b], shI[b]));
        if (takeA) { ls[j] = shS[a]; li[j] = shI[a]; a++; } else { ls[j] = shS[b]; li[j] = shI[b]; b++; }
      }
      for (var j = 0u; j < k; j++) { shS[lid * ${KMAX}u + j] = ls[j]; shI[lid * ${KMAX}u + j] = li[j]; }
    }
  }
  workgroupBarrier();
}`;

/** Slot rules and fusion weights from list 0 (thread 0): writes idx, w [T, Hk, k] and sel [T, Hr, k]. */
const FINALIZE = (KMAX: number) => /* wgsl */ `
fn finalize(t: u32, h: u32) {
  let k = u.k;
  let valid = validSlots(u.posOffset + t);
  var cs: array<u32, ${KMAX}>;
  var ss: array<f32, ${KMAX}>;
  for (var j = 0u; j < valid; j++) {
    var p = j;
    while (p > 0u && cs[p - 1u] < shI[j]) { cs[p] = cs[p - 1u]; ss[p] = ss[p - 1u]; p--; }
    cs[p] = shI[j]; ss[p] = shS[j];
  }
  var x: array<f32, ${KMAX}>;
  var any = false;
  var m = -1.0e7;
  for (var j = 0u; j < k; j++) {
    let live = j < valid && ss[j] > NEG;
    any = any || live;
    x[j] = select(-1.0e7, ss[j] + f32(j) * u.posDecay, live);
    m = max(m, x[j]);
  }
  var z = 0.0;
  var cum = 0.0;
  for (var j = 0u; j < k; j++) {
    let live = j < valid && ss[j] > NEG;
    if (u.stick != 0u) {
      let sp = select(log(1.0 + exp(ss[j])), ss[j], ss[j] > 15.0);
      if (live) { cum += sp; x[j] = exp(ss[j] - cum); } else { x[j] = 0.0; }
    } else {
      x[j] = exp(x[j] - m);
      z += x[j];
    }
  }
  let row = t * u.hr + h;
  for (var j = 0u; j < k; j++) {
    let live = j < valid && ss[j] > NEG;
    let wj = select(select(x[j] / z, 0.0, !any), x[j], u.stick != 0u);
    sel[row * k + j] = select(bitcast<f32>(NINF_BITS), ss[j], live);
    let c = select(0, i32(cs[j]), j < valid);
    for (var g = 0u; g < u.hk; g++) {
      if (u.hr == 1u || g == h) {
        idx[(t * u.hk + g) * k + j] = c;
        w[(t * u.hk + g) * k + j] = wj;
      }
    }
  }
}`;

/** Landmark score of chunk c for row (t, h), NEG when c is not visible at position posOffset + t. */
const SCORE = (DR: number) => /* wgsl */ `
fn score(t: u32, h: u32, c: u32) -> f32 {
  let pos = u.posOffset + t;
  if (!visible(c, pos)) { return NEG; }
  let qo = (t * u.hr + h) * ${DR}u;
  let lo = (c * u.hr + h) * ${DR}u;
  var acc = 0.0;
  for (var d = 0u; d < ${DR}u; d++) { acc += qr[qo + d] * lmk[lo + d]; }
  return acc * u.scale;
}`;

/** Fused v2 / v3: row (t, h)'s query in registers q0 … (DR a multiple of 4). */
const queryRegisters = (DR: number): string =>
  [`  let qo = (t * u.hr + h) * ${DR}u;`, ...range(DR / 4).map((i) => `  let q${i} = vec4<f32>(qr[qo + ${4 * i}u], qr[qo + ${4 * i + 1}u], qr[qo + ${4 * i + 2}u], qr[qo + ${4 * i + 3}u]);`)].join(
    '\n',
  );

/** Fused v2 / v3: `sc`, chunk c's score at position pos (NEG when not visible), from vec4 landmark loads. */
const vec4Score = (DR: number): string => `    var sc = NEG;
    if (visible(c, pos)) {
      let lo = (c * u.hr + h) * ${DR / 4}u;
      var a0 = 0.0; var a1 = 0.0;
${range(DR / 4)
  .map((i) => `      a${i % 2} += dot(q${i}, lmk[lo + ${i}u]);`)
  .join('\n')}
      sc = (a0 + a1) * u.scale;
    }`;

function body(mode: SelectMode, WG: number, DR: number, vec4: boolean): string {
  const gather =
    mode === 'merge'
      ? // each block's list is sorted best first: the first candidate this list rejects ends that block
        `for (var b = lid; b < u.ncand / u.k; b += ${WG}u) {
    for (var j = 0u; j < u.k; j++) {
      let o = row * u.ncand + b * u.k + j;
      let s = candS[o]; let i = candI[o];
      if (!better(s, i, lastS, lastI)) { break; }
      insert(s, i);
    }
  }`
      : vec4
        ? // v2: the row's query in registers, landmarks read as vec4; without the mask window the
          // chunks past the last visible one are not visited (they would enter the lists as
          // (NEG, c) entries that finalize never uses: the valid slots are all visible chunks)
          `let c0 = blk * u.blockLen;
  let pos = u.posOffset + t;
  let c1 = select(min(u.chunks, c0 + u.blockLen), min(min(u.chunks, c0 + u.blockLen), pos / u.s), u.maskOn == 0u);
${queryRegisters(DR)}
  for (var c = c0 + lid; c < c1; c += ${WG}u) {
${vec4Score(DR)}
    insert(sc, c);
  }`
        : `let c0 = blk * u.blockLen; let c1 = min(u.chunks, c0 + u.blockLen);
  for (var c = c0 + lid; c < c1; c += ${WG}u) { insert(score(t, h, c), c); }`;
  const emit =
    mode === 'scan'
      ? `if (lid < u.k) { let o = (row * u.nblocks + blk) * u.k + lid; candS[o] = shS[lid]; candI[o] = shI[lid]; }`
      : 'if (lid == 0u) { finalize(t, h); }';
  return `
  let wgi = ${WGSL_LINEAR_WORKGROUP};
  if (wgi >= u.nwg) { return; }
  let blk = wgi % u.nblocks;
  let row = wgi / u.nblocks;
  let t = row / u.hr;
  let h = row % u.hr;
  for (var j = 0u; j < u.k; j++) { ls[j] = NEG; li[j] = 0xffffffffu; }
  ${gather}
  mergeLists(lid);
  ${emit}`;
}

/** `header` declares `u` and the mode's buffers (see hsaSelect.ts). */
export function hsaSelectWgsl(c: SelectShape, header: string): string {
  return /* wgsl */ `
${header}
${selectListWgsl(c.KMAX)}
${selectMergeWgsl(c.WG, c.KMAX)}
${c.mode === 'scan' ? '' : FINALIZE(c.KMAX)}
${c.mode === 'merge' || c.vec4 ? '' : SCORE(c.DR)}
@compute @workgroup_size(${c.WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
${body(c.mode, c.WG, c.DR, c.vec4 === true)}
}`;
}

/** Fused v3: invocations, list capacity, retrieval head size (a multiple of 4), chunks a block. */
export interface SelectBoundShape {
  WG: number;
  KMAX: number;
  DR: number;
  CB: number;
}

/** Workgroup bytes of fused v3 (block scores, invocation bests, candidates, list, bound, count). */
export const selectBoundBytes = (c: SelectBoundShape): number => 4 * (c.CB + 2 * c.WG + 2 * (c.CB + c.KMAX) + 2 * c.KMAX + 4);

/**
 * Fused v3 (prefill): a workgroup per row (token, retrieval head), no per-invocation lists. The
 * visited chunks (those v2 visits, the same scores summed in the same order) are taken CB at a
 * time: their scores land in workgroup memory with each invocation's best; the k-th best of those
 * bests and of the row's list so far bounds the block's top k from below (they are k distinct
 * entries at least as good), so only the entries as good as the bound are candidates (about k in
 * a random row, every entry at worst); each candidate's rank among them (a strict order: score,
 * then chunk index) is its place in the new list. Three barriers a block; the list equals v2's.
 */
export function hsaSelectBoundWgsl(c: SelectBoundShape, header: string): string {
  const { WG, KMAX, DR, CB } = c;
  const EMPTY = '0xffffffffu';
  return /* wgsl */ `
${header}
${SELECT_ORDER}
var<workgroup> bs: array<f32, ${CB}>;
var<workgroup> tbS: array<f32, ${WG}>;
var<workgroup> tbI: array<u32, ${WG}>;
var<workgroup> cS: array<f32, ${CB + KMAX}>;
var<workgroup> cI: array<u32, ${CB + KMAX}>;
var<workgroup> shS: array<f32, ${KMAX}>;
var<workgroup> shI: array<u32, ${KMAX}>;
var<workgroup> bound: vec2<u32>;
var<workgroup> cnt: atomic<u32>;
${FINALIZE(KMAX)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${WGSL_LINEAR_WORKGROUP};
  if (row >= u.nwg) { return; }
  let t = row / u.hr;
  let h = row % u.hr;
  let k = u.k;
  let pos = u.posOffset + t;
  // the chunks v2 visits: without the mask window none past the last visible one
  let cEnd = select(u.chunks, min(u.chunks, pos / u.s), u.maskOn == 0u);
${queryRegisters(DR)}
  if (lid < k) { shS[lid] = NEG; shI[lid] = ${EMPTY}; }
  for (var b0 = 0u; b0 < cEnd; b0 += ${CB}u) {
    let b1 = min(cEnd, b0 + ${CB}u);
    // 1. the block's scores, and this invocation's best (the empty entry when it has none); the
    // bound's default (read in step 3 of the previous block, before its last barrier)
    var tS = NEG;
    var tI = ${EMPTY};
    for (var c = b0 + lid; c < b1; c += ${WG}u) {
${vec4Score(DR)}
      bs[c - b0] = sc;
      if (better(sc, c, tS, tI)) { tS = sc; tI = c; }
    }
    tbS[lid] = tS;
    tbI[lid] = tI;
    if (lid == 0u) { bound = vec2<u32>(bitcast<u32>(NEG), ${EMPTY}); }
    workgroupBarrier();
    // 2. the bound: the entry of rank k − 1 among the bests and the list (distinct chunks; empty
    // entries are no candidates and rank behind all). Fewer than k entries: the empty bound, all
    // in. (The count was last read in step 4 of the previous block.)
    if (lid == 0u) { atomicStore(&cnt, 0u); }
    if (tI != ${EMPTY}) {
      var r = 0u;
      for (var i = 0u; i < ${WG}u; i++) { r += u32(better(tbS[i], tbI[i], tS, tI)); }
      for (var i = 0u; i < k; i++) { r += u32(better(shS[i], shI[i], tS, tI)); }
      if (r == k - 1u) { bound = vec2<u32>(bitcast<u32>(tS), tI); }
    }
    if (lid < k && shI[lid] != ${EMPTY}) {
      // the list is sorted: the lid entries before this one are better
      let eS = shS[lid];
      let eI = shI[lid];
      var r = lid;
      for (var i = 0u; i < ${WG}u; i++) { r += u32(better(tbS[i], tbI[i], eS, eI)); }
      if (r == k - 1u) { bound = vec2<u32>(bitcast<u32>(eS), eI); }
    }
    workgroupBarrier();
    // 3. the candidates: the block's entries and the list's as good as the bound; the list emptied
    let bS = bitcast<f32>(bound.x);
    let bI = bound.y;
    for (var c = b0 + lid; c < b1; c += ${WG}u) {
      let sc = bs[c - b0];
      if (!better(bS, bI, sc, c)) {
        let p = atomicAdd(&cnt, 1u);
        cS[p] = sc;
        cI[p] = c;
      }
    }
    if (lid < k) {
      let eS = shS[lid];
      let eI = shI[lid];
      if (eI != ${EMPTY} && !better(bS, bI, eS, eI)) {
        let p = atomicAdd(&cnt, 1u);
        cS[p] = eS;
        cI[p] = eI;
      }
      shS[lid] = NEG;
      shI[lid] = ${EMPTY};
    }
    workgroupBarrier();
    // 4. each candidate's rank among them; the first k are the new list (read after the next
    // block's first barrier, or the final one)
    let n = atomicLoad(&cnt);
    for (var i = lid; i < n; i += ${WG}u) {
      let s = cS[i];
      let ci = cI[i];
      var r = 0u;
      for (var j = 0u; j < n; j++) { r += u32(better(cS[j], cI[j], s, ci)); }
      if (r < k) { shS[r] = s; shI[r] = ci; }
    }
  }
  workgroupBarrier();
  if (lid == 0u) { finalize(t, h); }
}`;
}
