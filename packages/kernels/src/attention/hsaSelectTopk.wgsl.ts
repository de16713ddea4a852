/**
 * WGSL workgroup top-k by rank counting (the decode retrieval's scan and merge): the workgroup keeps
 * one sorted best-k list in workgroup memory; each offer round compacts the candidates that beat the
 * current k-th (one per invocation), then every candidate and list entry counts the entries better
 * than it (broadcast reads, no serial insertion) and moves to that rank. Order: score descending,
 * ties by lower chunk index; the empty list holds (NEG, 2³²−k … 2³²−1), which every chunk beats.
 * The result does not depend on the order of the candidates (a strict total order). topkRank is the
 * offer after its compaction, for callers that compact candidates themselves (the merge, v4).
 */
export const TOPK_WG = 256;

/**
 * With `threshold` (v3, the decode passes' default): when more than PREFILTER_MIN·k candidates beat the
 * current k-th, a cheap bound first: group g < k takes the best of candidates g, g + k, g + 2k, …,
 * the worst of those k group bests is T, and only candidates at least as good as T go on to the rank
 * counting (at least k candidates are as good as T, so nothing of the top k is dropped). The first
 * offer of a block (every candidate beats the empty list) then counts over a few dozen candidates,
 * not 256; the list it yields is the same.
 */
export const PREFILTER_MIN = 4;

/** The candidates' order of every decode top-k (score descending, ties by lower chunk index) and the empty score. */
export const TOPK_ORDER = /* wgsl */ `const NEG = -3.0e38;
fn better(s: f32, i: u32, t: f32, j: u32) -> bool { return s > t || (s == t && i < j); }`;

export const topkWgsl = (KMAX: number, threshold = false): string => /* wgsl */ `
${TOPK_ORDER}
var<workgroup> bS: array<f32, ${KMAX}>;
var<workgroup> bI: array<u32, ${KMAX}>;
var<workgroup> cS: array<f32, ${TOPK_WG}>;
var<workgroup> cI: array<u32, ${TOPK_WG}>;
var<workgroup> nLive: atomic<u32>;
var<workgroup> nL: u32;
var<workgroup> pc: array<u32, ${TOPK_WG}>;
${threshold ? 'var<workgroup> gS: array<f32, ' + KMAX + '>;\nvar<workgroup> gI: array<u32, ' + KMAX + '>;' : ''}
fn topkInit(lid: u32) {
  if (lid < u.k) { bS[lid] = NEG; bI[lid] = 0xffffffffu - (u.k - 1u - lid); }
  if (lid == 0u) { atomicStore(&nLive, 0u); }
  workgroupBarrier();
}
fn topkOffer(lid: u32, has: bool, s: f32, i: u32) {
  if (has && better(s, i, bS[u.k - 1u], bI[u.k - 1u])) { let p = atomicAdd(&nLive, 1u); cS[p] = s; cI[p] = i; }
  workgroupBarrier();
  if (lid == 0u) { nL = atomicLoad(&nLive); }
  topkRank(lid, workgroupUniformLoad(&nL));
}
// the m0 (≤ ${TOPK_WG}) candidates compacted in cS/cI, each better than the k-th, into the list (v5:
// the rank counts split over all invocations when candidates and list fit them; each invocation
// counted over all m + k on the H200 took ~0.1 µs a step: 6 of the merge's 14 µs at 16M tokens)
fn topkRank(lid: u32, m0: u32) {
  let k = u.k;
  var m = m0;
${threshold ? prefilter() : ''}
  let ne = m + k;
  if (m > 0u && ne <= ${TOPK_WG}u) {
    // entity e < ne (candidate e, or list entry e − m) counts the better entities over P slices of
    // L: ⌈ne / P⌉ steps, not ne
    let P = ${TOPK_WG}u / ne;
    let L = (ne + P - 1u) / P;
    let e = lid % ne;
    let es = select(bS[min(e - m, k - 1u)], cS[min(e, ${TOPK_WG - 1}u)], e < m);
    let ei = select(bI[min(e - m, k - 1u)], cI[min(e, ${TOPK_WG - 1}u)], e < m);
    var r = 0u;
    if (lid < ne * P) {
      let lo = (lid / ne) * L; let hi = min(ne, lo + L);
      for (var j = lo; j < min(hi, m); j++) { r += u32(better(cS[j], cI[j], es, ei)); }
      for (var j = max(lo, m); j < hi; j++) { r += u32(better(bS[j - m], bI[j - m], es, ei)); }
    }
    pc[lid] = r;
    workgroupBarrier();
    var rank = 0u;
    for (var q = 0u; q < P; q++) { rank += pc[q * ne + e]; }
    workgroupBarrier();
    if (lid < ne && rank < k) { bS[rank] = es; bI[rank] = ei; }
    if (lid == 0u) { atomicStore(&nLive, 0u); }
  } else if (m > 0u) {
    let ms = cS[min(lid, ${TOPK_WG - 1}u)]; let mi = cI[min(lid, ${TOPK_WG - 1}u)];
    let bs = bS[min(lid, k - 1u)]; let bi = bI[min(lid, k - 1u)];
    var rc = 0u; var rb = lid;
    for (var j = 0u; j < m; j++) {
      let xs = cS[j]; let xi = cI[j];
      rc += u32(better(xs, xi, ms, mi)); rb += u32(better(xs, xi, bs, bi));
    }
    for (var j = 0u; j < k; j++) { rc += u32(better(bS[j], bI[j], ms, mi)); }
    workgroupBarrier();
    if (lid < m && rc < k) { bS[rc] = ms; bI[rc] = mi; }
    if (lid < k && rb < k) { bS[rb] = bs; bI[rb] = bi; }
    if (lid == 0u) { atomicStore(&nLive, 0u); }
  }
  workgroupBarrier();
}`;

/**
 * WGSL: ts / ti (declared by the caller) ← a lower bound of the best k of the n entries in the
 * workgroup arrays S / I (n ≥ k): group g < k takes the best of entries g, g + k, g + 2k, … (into
 * gS / gI, the threshold stage's arrays), and the worst of the k group bests has k distinct entries
 * at least as good as it. The threshold stage and the merge's bound from the block heads.
 */
export const groupBound = (S: string, I: string, n: string): string => `    if (lid < u.k) {
      var bs = ${S}[lid]; var bi = ${I}[lid];
      for (var j = lid + u.k; j < ${n}; j += u.k) { if (better(${S}[j], ${I}[j], bs, bi)) { bs = ${S}[j]; bi = ${I}[j]; } }
      gS[lid] = bs; gI[lid] = bi;
    }
    workgroupBarrier();
    ts = gS[0]; ti = gI[0];
    for (var g = 1u; g < u.k; g++) { if (better(ts, ti, gS[g], gI[g])) { ts = gS[g]; ti = gI[g]; } }`;

/**
 * The threshold stage of topkOffer (see PREFILTER_MIN): on the m compacted candidates cS/cI, group
 * bests into gS/gI, T, then the candidates as good as T compacted again (m updated).
 */
function prefilter(): string {
  return `  if (m > ${PREFILTER_MIN}u * k) {
    var ts: f32; var ti: u32;
${groupBound('cS', 'cI', 'm')}
    let mine = lid < m;
    let xs = cS[min(lid, ${TOPK_WG - 1}u)]; let xi = cI[min(lid, ${TOPK_WG - 1}u)];
    if (lid == 0u) { atomicStore(&nLive, 0u); }
    workgroupBarrier();
    if (mine && !better(ts, ti, xs, xi)) { let p = atomicAdd(&nLive, 1u); cS[p] = xs; cI[p] = xi; }
    workgroupBarrier();
    if (lid == 0u) { nL = atomicLoad(&nLive); }
    m = workgroupUniformLoad(&nL);
  }`;
}

/**
 * Slot rules and fusion weights from the best list (bS, bI), in parallel over the k slots: valid slots
 * most recent chunk first (rank by chunk index), then the softmax or stick-breaking weights, each sum
 * taken in slot order (the serial finalize's order). Writes idx, w [T, Hk, k] and sel [T, Hr, k].
 */
export const finalizeParWgsl = (KMAX: number): string => /* wgsl */ `
var<workgroup> fS: array<f32, ${KMAX}>;
var<workgroup> fI: array<u32, ${KMAX}>;
var<workgroup> fX: array<f32, ${KMAX}>;
var<workgroup> fL: array<u32, ${KMAX}>;
var<private> NINF_BITS: u32 = 0xff800000u;
fn finalizePar(lid: u32, t: u32, h: u32) {
  let k = u.k;
  let valid = validSlots(u.posOffset + t);
  if (lid < valid) {
    let c = bI[lid];
    var p = 0u;
    for (var j = 0u; j < valid; j++) { p += u32(bI[j] > c); }
    fS[p] = bS[lid]; fI[p] = c;
  }
  workgroupBarrier();
  let j = min(lid, k - 1u);
  let sj = select(0.0, fS[j], lid < valid);
  let live = lid < valid && sj > NEG;
  if (lid < k) { fX[j] = select(-1.0e7, sj + f32(j) * u.posDecay, live); fL[j] = u32(live); }
  workgroupBarrier();
  var m = -1.0e7;
  var any = false;
  for (var i = 0u; i < k; i++) { m = max(m, fX[i]); any = any || fL[i] != 0u; }
  var wj = 0.0;
  if (u.stick != 0u) {
    var cum = 0.0;
    for (var i = 0u; i <= j; i++) {
      if (fL[i] != 0u) { let s = fS[i]; cum += select(log(1.0 + exp(s)), s, s > 15.0); }
    }
    wj = select(0.0, exp(sj - cum), live);
  } else {
    let e = exp(fX[j] - m);
    workgroupBarrier();
    if (lid < k) { fX[j] = e; }
    workgroupBarrier();
    var z = 0.0;
    for (var i = 0u; i < k; i++) { z += fX[i]; }
    wj = select(e / z, 0.0, !any);
  }
  if (lid < k) {
    let row = t * u.hr + h;
    sel[row * k + j] = select(bitcast<f32>(NINF_BITS), sj, live);
    let c = select(0, i32(fI[j]), j < valid);
    for (var g = 0u; g < u.hk; g++) {
      if (u.hr == 1u || g == h) {
        idx[(t * u.hk + g) * k + j] = c;
        w[(t * u.hk + g) * k + j] = wj;
      }
    }
  }
}`;
