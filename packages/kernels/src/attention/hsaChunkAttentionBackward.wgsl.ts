/**
 * WGSL for the HSA chunk-attention backward (hsaChunkAttentionBackward.ref.ts).
 *   dq:  a workgroup per (token t, KV head g) walks its head blocks of HB heads and the k slots; per
 *        slot it streams the chunk's keys three times (z = q·K, dout·V, then dq += dz·K) through a
 *        KT-row tile, and saves each (t, h, j)'s log-sum-exp and dwh = dout·Ō_j for the dK/dV pass;
 *        dw[t,g,j] = Σ_h dwh in head order (workgroup memory, so k ≤ 128).
 *   dkv: a workgroup per (chunk c, KV head g, BK-key tile) loads its keys once and loops over the
 *        (slot, head) rows of the slots that selected c (the inverted selection, in slot order):
 *        p = w·exp(z − lse), dV += p·dout, dK += p·(dout·V − dwh)·scale·q.
 */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
import { accumulateDkv } from './dkvTile.wgsl.js';
import { reduceTree, rowExpSum, softmaxGroup } from './hsaChunkAttention.wgsl.js';

export const CHUNK_BACK_WG = 256;
export const CHUNK_BACK_MAX_K = 128;

export interface ChunkDqTile {
  HB: number;
  KT: number;
  D: number;
  S: number;
}

export const chunkDqWords = (c: ChunkDqTile): number => c.HB * (2 * c.D + 2 * c.S + 1) + c.KT * (c.D + 1) + CHUNK_BACK_MAX_K + CHUNK_BACK_WG + 2;

/** Streams the chunk's rows s0 … s0+KT−1 of `arr` into ts, then runs `body` (barriers around). */
const tiles = (KT: number, D: number, S: number, arr: string, body: string) => `
    for (var s0 = 0u; s0 < ${S}u; s0 += ${KT}u) {
      workgroupBarrier();
      for (var i = lid; i < ${KT * D}u; i += ${CHUNK_BACK_WG}u) {
        let r = i / ${D}u; let s = min(s0 + r, ${S - 1}u);
        ts[r * ${D + 1}u + i % ${D}u] = ${arr}[((base + s) * u.hk + g) * ${D}u + i % ${D}u];
      }
      workgroupBarrier();
${body}
    }`;

/**
 * One selected slot (chunk base, weight wj) of the dq kernel: scores and their softmax (lse saved),
 * dout·V and dwh = Σ p·dout·V (saved; dz = p·wj·(dout·V − dwh)·scale into gs), then dq += dz·K.
 */
function slotPasses(c: ChunkDqTile): string {
  const { HB, KT, D, S } = c;
  const P = D + 1;
  const OPT = Math.ceil((HB * D) / CHUNK_BACK_WG);
  const dot = (a: string) => `for (var d = 0u; d < ${D}u; d++) { z += ${a}[hl * ${D}u + d] * ts[r * ${P}u + d]; }`;
  const G = softmaxGroup(HB);
  return `      let base = u32(cj) * ${S}u;
      let rh = lid / ${G}u; let part = lid % ${G}u;
      let row = min(rh, ${HB - 1}u) * ${S}u;
      let live = rh < ${HB}u;
      let soR = (t * u.hq + h0 + min(rh, nh - 1u)) * u.k + j;
${tiles(KT, D, S, 'memK', `      for (var i = lid; i < ${HB * KT}u; i += ${CHUNK_BACK_WG}u) {
        let hl = i / ${KT}u; let r = i % ${KT}u;
        var z = 0.0; ${dot('qs')}
        if (s0 + r < ${S}u) { ps[hl * ${S}u + s0 + r] = z * u.scale; }
      }`)}
      workgroupBarrier();
${rowExpSum(S, G)}
      l = u.smN * exp(-m) + l;
      if (live) { for (var s = part; s < ${S}u; s += ${G}u) { ps[row + s] /= l; } }
      if (part == 0u && rh < nh) { slotLse[soR] = m + log(l); }
${tiles(KT, D, S, 'memV', `      for (var i = lid; i < ${HB * KT}u; i += ${CHUNK_BACK_WG}u) {
        let hl = i / ${KT}u; let r = i % ${KT}u;
        var z = 0.0; ${dot('dos')}
        if (s0 + r < ${S}u) { gs[hl * ${S}u + s0 + r] = z; }
      }`)}
      workgroupBarrier();
      var x = 0.0;
      if (live) { for (var s = part; s < ${S}u; s += ${G}u) { x += ps[row + s] * gs[row + s]; } }
      red[lid] = x;
      workgroupBarrier();
${reduceTree(G, 'red[lid] + red[lid + st]')}
      x = red[rh * ${G}u];
      if (live) { for (var s = part; s < ${S}u; s += ${G}u) { gs[row + s] = ps[row + s] * wj * (gs[row + s] - x) * u.scale; } }
      if (part == 0u && live) { dwh[rh] = x; }
      if (part == 0u && rh < nh) { slotDw[soR] = x; }
      workgroupBarrier();
      if (lid == 0u) {
        var x = dwAcc[j];
        for (var hl = 0u; hl < nh; hl++) { x += dwh[hl]; }
        dwAcc[j] = x;
      }
      if (wj == 0.0) { continue; }
${tiles(KT, D, S, 'memK', `      let kn = min(${KT}u, ${S}u - s0);
      for (var o = 0u; o < ${OPT}u; o++) {
        let i = lid + o * ${CHUNK_BACK_WG}u;
        let hl = min(i / ${D}u, ${HB - 1}u); let d = i % ${D}u;
        var x = 0.0;
        for (var r = 0u; r < kn; r++) { x += gs[hl * ${S}u + s0 + r] * ts[r * ${P}u + d]; }
        acc[o] += x;
      }`)}`;
}

/** `header` declares `u` and q, memK, memV, idx, w, dout, dq, dw, slotLse, slotDw. */
export function chunkDqWgsl(c: ChunkDqTile, header: string): string {
  const { HB, KT, D, S } = c;
  const P = D + 1;
  const OPT = Math.ceil((HB * D) / CHUNK_BACK_WG);
  return /* wgsl */ `
${header}
var<workgroup> qs: array<f32, ${HB * D}>;
var<workgroup> dos: array<f32, ${HB * D}>;
var<workgroup> ts: array<f32, ${KT * P}>;
var<workgroup> ps: array<f32, ${HB * S}>;
var<workgroup> gs: array<f32, ${HB * S}>;
var<workgroup> dwh: array<f32, ${HB}>;
var<workgroup> dwAcc: array<f32, ${CHUNK_BACK_MAX_K}>;
var<workgroup> red: array<f32, ${CHUNK_BACK_WG}>;
var<workgroup> slotW: f32;
var<workgroup> slotC: i32;
@compute @workgroup_size(${CHUNK_BACK_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let wgi = ${WGSL_LINEAR_WORKGROUP};
  if (wgi >= u.nwg) { return; }
  let g = wgi % u.hk;
  let t = wgi / u.hk;
  for (var j = lid; j < u.k; j += ${CHUNK_BACK_WG}u) { dwAcc[j] = 0.0; }
  for (var hb = 0u; hb < u.hblocks; hb++) {
    let h0 = g * u.ratio + hb * ${HB}u;
    let nh = min(${HB}u, (g + 1u) * u.ratio - h0);
    workgroupBarrier();
    for (var i = lid; i < ${HB * D}u; i += ${CHUNK_BACK_WG}u) {
      let hl = i / ${D}u; let a = (t * u.hq + h0 + min(hl, nh - 1u)) * ${D}u + i % ${D}u;
      qs[i] = select(0.0, q[a], hl < nh);
      dos[i] = select(0.0, dout[a], hl < nh);
    }
    var acc: array<f32, ${OPT}>;
    for (var o = 0u; o < ${OPT}u; o++) { acc[o] = 0.0; }
    for (var j = 0u; j < u.k; j++) {
      workgroupBarrier();
      if (lid == 0u) { slotW = w[(t * u.hk + g) * u.k + j]; slotC = idx[(t * u.hk + g) * u.k + j]; }
      let wj = workgroupUniformLoad(&slotW);
      let cj = workgroupUniformLoad(&slotC);
      let so = ((t * u.hq + h0 + min(lid, nh - 1u)) * u.k + j);
      if (cj < 0 || cj >= i32(u.chunks)) {
        if (lid < nh) { slotLse[so] = 0.0; slotDw[so] = 0.0; }
        continue;
      }
${slotPasses(c)}
    }
    for (var o = 0u; o < ${OPT}u; o++) {
      let i = lid + o * ${CHUNK_BACK_WG}u;
      let hl = i / ${D}u;
      if (hl < nh) { dq[(t * u.hq + h0 + hl) * ${D}u + i % ${D}u] = acc[o]; }
    }
  }
  workgroupBarrier();
  for (var j = lid; j < u.k; j += ${CHUNK_BACK_WG}u) { dw[(t * u.hk + g) * u.k + j] = dwAcc[j]; }
}`;
}

export interface ChunkDkvTile {
  /** (slot, head) rows per tile */
  QR: number;
  /** keys per tile */
  BK: number;
  D: number;
  S: number;
}

export const chunkDkvWords = (c: ChunkDkvTile): number => 2 * (c.QR + c.BK) * (c.D + 1) + 2 * c.QR * c.BK + 4 * c.QR;

/** `header` declares `u` and q, memK, memV, w, dout, slotLse, slotDw, order, starts, dK, dV. */
export function chunkDkvWgsl(c: ChunkDkvTile, header: string): string {
  const { QR, BK, D, S } = c;
  const P = D + 1;
  const OPT = Math.ceil((BK * D) / CHUNK_BACK_WG);
  return /* wgsl */ `
${header}
var<workgroup> qs: array<f32, ${QR * P}>;
var<workgroup> dos: array<f32, ${QR * P}>;
var<workgroup> ks: array<f32, ${BK * P}>;
var<workgroup> vs: array<f32, ${BK * P}>;
var<workgroup> ps: array<f32, ${QR * BK}>;
var<workgroup> dss: array<f32, ${QR * BK}>;
var<workgroup> rl: array<f32, ${QR}>;
var<workgroup> rd: array<f32, ${QR}>;
var<workgroup> rw: array<f32, ${QR}>;
@compute @workgroup_size(${CHUNK_BACK_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  var wgi = ${WGSL_LINEAR_WORKGROUP};
  if (wgi >= u.nwg) { return; }
  let kt = wgi % u.ktiles;
  let bucket = wgi / u.ktiles;
  let g = bucket % u.hk;
  let c = bucket / u.hk;
  let j0 = kt * ${BK}u;
  let jEnd = min(j0 + ${BK}u, ${S}u);
  for (var i = lid; i < ${BK * D}u; i += ${CHUNK_BACK_WG}u) {
    let r = i / ${D}u; let d = i % ${D}u; let s = min(j0 + r, ${S - 1}u);
    let a = ((c * ${S}u + s) * u.hk + g) * ${D}u + d;
    ks[r * ${P}u + d] = select(0.0, memK[a], j0 + r < jEnd);
    vs[r * ${P}u + d] = select(0.0, memV[a], j0 + r < jEnd);
  }
  let e0 = starts[bucket];
  let nrows = (starts[bucket + 1u] - e0) * u.ratio;
  var ak: array<f32, ${OPT}>;
  var av: array<f32, ${OPT}>;
  for (var o = 0u; o < ${OPT}u; o++) { ak[o] = 0.0; av[o] = 0.0; }
  for (var r0 = 0u; r0 < nrows; r0 += ${QR}u) {
    workgroupBarrier();
    // row → slot e = order[e0 + row / ratio] = (t·hk + g)·k + j, query head g·ratio + row mod ratio
    for (var i = lid; i < ${QR * D}u; i += ${CHUNK_BACK_WG}u) {
      let r = i / ${D}u; let d = i % ${D}u; let row = r0 + r;
      let e = min(order[e0 + min(row, nrows - 1u) / u.ratio], u.nslots - 1u);
      let a = ((e / (u.hk * u.k)) * u.hq + g * u.ratio + row % u.ratio) * ${D}u + d;
      qs[r * ${P}u + d] = select(0.0, q[a], row < nrows);
      dos[r * ${P}u + d] = select(0.0, dout[a], row < nrows);
    }
    if (lid < ${QR}u) {
      let row = r0 + lid;
      let e = min(order[e0 + min(row, nrows - 1u) / u.ratio], u.nslots - 1u);
      let a = ((e / (u.hk * u.k)) * u.hq + g * u.ratio + row % u.ratio) * u.k + e % u.k;
      rl[lid] = slotLse[a];
      rd[lid] = slotDw[a];
      rw[lid] = select(0.0, w[e], row < nrows);
    }
    workgroupBarrier();
    for (var i = lid; i < ${QR * BK}u; i += ${CHUNK_BACK_WG}u) {
      let r = i / ${BK}u; let kk = i % ${BK}u;
      var z = 0.0; var dp = 0.0;
      for (var d = 0u; d < ${D}u; d++) {
        z += qs[r * ${P}u + d] * ks[kk * ${P}u + d];
        dp += dos[r * ${P}u + d] * vs[kk * ${P}u + d];
      }
      let p = select(0.0, rw[r] * exp(z * u.scale - rl[r]), rw[r] != 0.0);
      ps[i] = p;
      dss[i] = p * (dp - rd[r]) * u.scale;
    }
    workgroupBarrier();
${accumulateDkv({ opt: OPT, wg: CHUNK_BACK_WG, d: D, bk: BK, qr: QR, p: P })}
  }
  for (var o = 0u; o < ${OPT}u; o++) {
    let i = lid + o * ${CHUNK_BACK_WG}u;
    let s = j0 + i / ${D}u;
    if (i < ${BK * D}u && s < jEnd) {
      let a = ((c * ${S}u + s) * u.hk + g) * ${D}u + i % ${D}u;
      dK[a] = ak[o];
      dV[a] = av[o];
    }
  }
}`;
}
