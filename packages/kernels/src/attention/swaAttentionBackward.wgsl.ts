/**
 * WGSL for the dense-attention backward v1 (SWA window, chunk-encoder block; v2, register-blocked, is
 * swaAttentionBackwardV2.wgsl.ts, which shares the key ranges and the entry), flash-style recomputation
 * from the forward's log-sum-exp: p = exp(q·k·scale − lse), ds = p·(dout·v − delta)·scale with
 * delta = dout·out per query row. Query rows of KV head g are enumerated token-major inside a
 * segment: row i → token s0 + i / ratio, query head g·ratio + i mod ratio.
 *   dq:  a workgroup owns QR query rows and streams the BK-key tiles they see; dq += ds·k.
 *   dkv: a workgroup owns BK keys of KV head g and loops over the QR-row tiles of the queries that
 *        see them (in order: deterministic, no atomics); dv += p·dout, dk += ds·q.
 */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
import { accumulateDkv } from './dkvTile.wgsl.js';

export interface DenseBackTile {
  /** query rows per tile */
  QR: number;
  /** keys per tile */
  BK: number;
  /** head size (compiled in) */
  D: number;
  /** 'window': keys max(s0, t−W)..t; 'block': the token's whole segment */
  mode: 'window' | 'block';
}

export const DENSE_BACK_WG = 256;

/** Workgroup memory of a tile, in f32 words. */
export const denseBackWords = (c: DenseBackTile): number => 2 * (c.QR + c.BK) * (c.D + 1) + 2 * c.QR * c.BK + 3 * c.QR;

/** keyLo(t, s0), keyHi(t, s0): the inclusive key range of token t in the segment starting at s0. */
export function keyRangeFnsWgsl(mode: DenseBackTile['mode']): string {
  return mode === 'window'
    ? 'fn keyLo(t: u32, s0: u32) -> u32 { return max(s0, select(0u, t - u.window, t >= u.window)); }\nfn keyHi(t: u32, s0: u32) -> u32 { return t; }'
    : 'fn keyLo(t: u32, s0: u32) -> u32 { return s0; }\nfn keyHi(t: u32, s0: u32) -> u32 { return min(s0 + u.segLen, u.tq) - 1u; }';
}

/** Shared declarations and helpers: tiles, row/key loads, the p / ds tile. */
function common(c: DenseBackTile): string {
  const { QR, BK, D } = c;
  const P = D + 1;
  const range = keyRangeFnsWgsl(c.mode);
  return /* wgsl */ `
const NOROW = 0xffffffffu;
var<workgroup> qs: array<f32, ${QR * P}>;
var<workgroup> dos: array<f32, ${QR * P}>;
var<workgroup> ks: array<f32, ${BK * P}>;
var<workgroup> vs: array<f32, ${BK * P}>;
var<workgroup> ps: array<f32, ${QR * BK}>;
var<workgroup> dss: array<f32, ${QR * BK}>;
var<workgroup> rl: array<f32, ${QR}>;
var<workgroup> rd: array<f32, ${QR}>;
var<workgroup> rt: array<u32, ${QR}>;
${range}
// rows r0 .. rEnd−1 of KV head g in the segment at s0 → qs, dos, rl (lse), rd (delta), rt (token)
fn loadRows(lid: u32, r0: u32, rEnd: u32, s0: u32, g: u32) {
  for (var i = lid; i < ${QR * D}u; i += ${DENSE_BACK_WG}u) {
    let r = i / ${D}u; let d = i % ${D}u; let row = r0 + r;
    let ok = row < rEnd;
    let a = ((s0 + row / u.ratio) * u.hq + g * u.ratio + row % u.ratio) * ${D}u + d;
    qs[r * ${P}u + d] = select(0.0, q[min(a, u.nq - 1u)], ok);
    dos[r * ${P}u + d] = select(0.0, dout[min(a, u.nq - 1u)], ok);
  }
  if (lid < ${QR}u) {
    let row = r0 + lid;
    let ok = row < rEnd;
    let a = min((s0 + row / u.ratio) * u.hq + g * u.ratio + row % u.ratio, u.nq / ${D}u - 1u);
    rl[lid] = select(0.0, lse[a], ok);
    rd[lid] = select(0.0, delta[a], ok);
    rt[lid] = select(NOROW, s0 + row / u.ratio, ok);
  }
}
// keys j0 .. jEnd−1 of KV head g → ks, vs
fn loadKeys(lid: u32, j0: u32, jEnd: u32, g: u32) {
  for (var i = lid; i < ${BK * D}u; i += ${DENSE_BACK_WG}u) {
    let r = i / ${D}u; let d = i % ${D}u; let j = j0 + r;
    let a = min((j * u.hk + g) * ${D}u + d, u.nk - 1u);
    ks[r * ${P}u + d] = select(0.0, k[a], j < jEnd);
    vs[r * ${P}u + d] = select(0.0, v[a], j < jEnd);
  }
}
// p and ds·scale of every (row, key) pair of the loaded tiles; 0 where the key is not visible
fn tileGrads(lid: u32, j0: u32, jEnd: u32, s0: u32) {
  for (var i = lid; i < ${QR * BK}u; i += ${DENSE_BACK_WG}u) {
    let r = i / ${BK}u; let kk = i % ${BK}u; let j = j0 + kk; let t = rt[r];
    var p = 0.0; var ds = 0.0;
    if (t != NOROW && j < jEnd && j >= keyLo(t, s0) && j <= keyHi(t, s0)) {
      var s = 0.0; var dp = 0.0;
      for (var d = 0u; d < ${D}u; d++) {
        s += qs[r * ${P}u + d] * ks[kk * ${P}u + d];
        dp += dos[r * ${P}u + d] * vs[kk * ${P}u + d];
      }
      p = exp(s * u.scale - rl[r]);
      ds = p * (dp - rd[r]) * u.scale;
    }
    ps[i] = p; dss[i] = ds;
  }
}`;
}

/**
 * The start of `main` of the dense backward kernels: workgroup → (tile, KV head g, segment at s0).
 * Head-major (default): a (segment, head)'s tiles in turn; `tileMajor`: tile t of every (segment,
 * head) before tile t + 1, so the heaviest tiles of all heads start first (a causal call's tiles
 * differ in work by up to T / tile ×). `longestFirst` numbers the tiles last to first.
 */
export const denseBackEntry = (longestFirst: boolean, tileMajor = false): string => `@compute @workgroup_size(${DENSE_BACK_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  var wgi = ${WGSL_LINEAR_WORKGROUP};
  if (wgi >= u.nwg) { return; }
${
  tileMajor
    ? `  let per = u.nwg / u.tiles;
  let ti = wgi / per; wgi %= per;`
    : `  let ti = wgi % u.tiles; wgi /= u.tiles;`
}
  let tile = ${longestFirst ? 'u.tiles - 1u - ti' : 'ti'};
  let g = wgi % u.hk;
  let s0 = (wgi / u.hk) * u.segLen;
  let segEnd = min(s0 + u.segLen, u.tq);`;

/** The start of `main` of v1 and v2 (tiles in order). */
export const DENSE_BACK_ENTRY = denseBackEntry(false);

/** (token, head) index of query row `row` of KV head g in the segment at s0 (rows token-major, ratio heads a token). */
export const Q_INDEX_WGSL = 'fn qIndex(s0: u32, g: u32, row: u32) -> u32 { return (s0 + row / u.ratio) * u.hq + g * u.ratio + row % u.ratio; }';

/** dq: `header` declares `u` and q, k, v, dout, lse, delta, dq. */
export function denseDqWgsl(c: DenseBackTile, header: string): string {
  const { QR, BK, D } = c;
  const OPT = Math.ceil((QR * D) / DENSE_BACK_WG);
  return /* wgsl */ `
${header}
${common(c)}
${DENSE_BACK_ENTRY}
  let nrows = (segEnd - s0) * u.ratio;
  let r0 = tile * ${QR}u;
  if (r0 >= nrows) { return; }
  let rEnd = min(r0 + ${QR}u, nrows);
  loadRows(lid, r0, rEnd, s0, g);
  let klo = keyLo(s0 + r0 / u.ratio, s0);
  let kEnd = keyHi(s0 + (rEnd - 1u) / u.ratio, s0) + 1u;
  var acc: array<f32, ${OPT}>;
  for (var o = 0u; o < ${OPT}u; o++) { acc[o] = 0.0; }
  for (var j0 = klo; j0 < kEnd; j0 += ${BK}u) {
    workgroupBarrier();
    loadKeys(lid, j0, kEnd, g);
    workgroupBarrier();
    tileGrads(lid, j0, kEnd, s0);
    workgroupBarrier();
    for (var o = 0u; o < ${OPT}u; o++) {
      let i = lid + o * ${DENSE_BACK_WG}u;
      let r = min(i / ${D}u, ${QR - 1}u); let d = i % ${D}u;
      var x = 0.0;
      for (var kk = 0u; kk < ${BK}u; kk++) { x += dss[r * ${BK}u + kk] * ks[kk * ${D + 1}u + d]; }
      acc[o] += x;
    }
  }
  for (var o = 0u; o < ${OPT}u; o++) {
    let i = lid + o * ${DENSE_BACK_WG}u;
    let row = r0 + i / ${D}u;
    if (i < ${QR * D}u && row < rEnd) {
      dq[((s0 + row / u.ratio) * u.hq + g * u.ratio + row % u.ratio) * ${D}u + i % ${D}u] = acc[o];
    }
  }
}`;
}

/**
 * The dk/dv kernels' key tile of KT keys (j0 … jEnd − 1, returning when it starts past the segment) and
 * the WGSL bounds tLo … tHi of the query tokens that see it (both versions).
 */
export function dkvKeyTile(mode: DenseBackTile['mode'], KT: number): { wgsl: string; tLo: string; tHi: string } {
  return {
    wgsl: `  let j0 = s0 + tile * ${KT}u;
  if (j0 >= segEnd) { return; }
  let jEnd = min(j0 + ${KT}u, segEnd);`,
    tLo: mode === 'window' ? 'j0' : 's0',
    tHi: mode === 'window' ? 'min(segEnd - 1u, jEnd - 1u + u.window)' : 'segEnd - 1u',
  };
}

/** dk, dv: `header` declares `u` and q, k, v, dout, lse, delta, dk, dv. */
export function denseDkvWgsl(c: DenseBackTile, header: string): string {
  const { QR, BK, D } = c;
  const P = D + 1;
  const OPT = Math.ceil((BK * D) / DENSE_BACK_WG);
  const { wgsl: keyTile, tLo, tHi } = dkvKeyTile(c.mode, BK);
  return /* wgsl */ `
${header}
${common(c)}
${DENSE_BACK_ENTRY}
${keyTile}
  loadKeys(lid, j0, jEnd, g);
  // the queries that see these keys: tokens ${tLo} .. ${tHi}
  let rlo = (${tLo} - s0) * u.ratio;
  let rhi = (${tHi} - s0 + 1u) * u.ratio;
  var ak: array<f32, ${OPT}>;
  var av: array<f32, ${OPT}>;
  for (var o = 0u; o < ${OPT}u; o++) { ak[o] = 0.0; av[o] = 0.0; }
  for (var r0 = rlo; r0 < rhi; r0 += ${QR}u) {
    workgroupBarrier();
    loadRows(lid, r0, rhi, s0, g);
    workgroupBarrier();
    tileGrads(lid, j0, jEnd, s0);
    workgroupBarrier();
${accumulateDkv({ opt: OPT, wg: DENSE_BACK_WG, d: D, bk: BK, qr: QR, p: P })}
  }
  for (var o = 0u; o < ${OPT}u; o++) {
    let i = lid + o * ${DENSE_BACK_WG}u;
    let j = j0 + i / ${D}u;
    if (i < ${BK * D}u && j < jEnd) {
      let a = (j * u.hk + g) * ${D}u + i % ${D}u;
      dk[a] = ak[o];
      dv[a] = av[o];
    }
  }
}`;
}
