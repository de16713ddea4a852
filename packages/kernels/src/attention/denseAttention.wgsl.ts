/**
 * WGSL for dense softmax attention over a contiguous key range per query row (SWA, chunk encoder,
 * SWA decode against a ring buffer), flash-style: key tiles of KT rows in workgroup memory, an
 * online softmax per query row, outputs spread over the 256 invocations.
 * A workgroup owns NR = BQ·HB query rows: BQ consecutive tokens × HB query heads of one KV head g,
 * so each K/V tile is loaded once for all of them.
 */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';

export interface DenseTile {
  /** query heads per workgroup */
  HB: number;
  /** tokens per workgroup */
  BQ: number;
  /** keys per tile */
  KT: number;
  /** head size (compiled in) */
  D: number;
  /** 'window': keys max(seg0, t−W)..t; 'block': the token's whole segment; 'ring': decode */
  mode: 'window' | 'block' | 'ring';
}

export const DENSE_WG = 256;

/** Workgroup memory of a tile config, in f32 words. */
export const denseWords = (c: DenseTile): number => c.BQ * c.HB * c.D + 2 * c.KT * (c.D + 1) + c.BQ * c.HB * (c.KT + 3);

/** Loads element (key j, dim d) of KV head g from K and V; ring mode reads the cache or the new row. */
function kvLoad(mode: DenseTile['mode'], D: number): string {
  if (mode !== 'ring') {
    return `fn kvAddr(j: u32, g: u32, d: u32) -> u32 { return (j * u.hk + g) * ${D}u + d; }
fn loadK(j: u32, g: u32, d: u32) -> f32 { return k[kvAddr(j, g, d)]; }
fn loadV(j: u32, g: u32, d: u32) -> f32 { return v[kvAddr(j, g, d)]; }`;
  }
  // key j is position first + j; the last one (j = n − 1) is the new token
  return `fn slotAddr(j: u32, g: u32, d: u32) -> u32 { return (((u.first + j) % max(u.window, 1u)) * u.hk + g) * ${D}u + d; }
fn loadK(j: u32, g: u32, d: u32) -> f32 {
  if (j + 1u == u.nkeys) { return kn[g * ${D}u + d]; }
  return k[slotAddr(j, g, d)];
}
fn loadV(j: u32, g: u32, d: u32) -> f32 {
  if (j + 1u == u.nkeys) { return vn[g * ${D}u + d]; }
  return v[slotAddr(j, g, d)];
}`;
}

/** Inclusive key range [lo, hi] of token t (in segment starting at s0, of length segLen). */
export function keyRangeWgsl(mode: DenseTile['mode']): string {
  if (mode === 'window') return 'let lo = max(s0, select(0u, t - u.window, t >= u.window)); let hi = t;';
  if (mode === 'block') return 'let lo = s0; let hi = s0 + u.segLen - 1u;';
  return 'let lo = 0u; let hi = u.nkeys - 1u;';
}

/** `header` declares `u` and q, k, v[, kn, vn], out, lse. */
export function denseAttentionWgsl(c: DenseTile, header: string): string {
  const { HB, BQ, KT, D } = c;
  const NR = HB * BQ;
  const OPT = Math.ceil((NR * D) / DENSE_WG);
  const P = D + 1;
  return /* wgsl */ `
${header}
const NEG = -3.0e38;
var<private> NINF_BITS: u32 = 0xff800000u;
var<workgroup> qs: array<f32, ${NR * D}>;
var<workgroup> ks: array<f32, ${KT * P}>;
var<workgroup> vs: array<f32, ${KT * P}>;
var<workgroup> ps: array<f32, ${NR * KT}>;
var<workgroup> rm: array<f32, ${NR}>;
var<workgroup> rl: array<f32, ${NR}>;
var<workgroup> ra: array<f32, ${NR}>;
${kvLoad(c.mode, D)}
@compute @workgroup_size(${DENSE_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // workgroup → (segment, token tile, KV head g, head block)
  var wgi = ${WGSL_LINEAR_WORKGROUP};
  if (wgi >= u.nwg) { return; }
  let hb = wgi % u.hblocks; wgi /= u.hblocks;
  let g = wgi % u.hk; wgi /= u.hk;
  let qt = wgi % u.qtiles;
  let seg = wgi / u.qtiles;
  let s0 = seg * u.segLen;
  let tStart = s0 + qt * ${BQ}u;
  let tEnd = min(s0 + u.segLen, u.tq);
  let h0 = g * u.ratio + hb * ${HB}u;
  let hEnd = (g + 1u) * u.ratio;
  // union key range of the workgroup's tokens
  var klo = 0u; var khi = 0u;
  {
    let t = tStart; ${keyRangeWgsl(c.mode)} klo = lo;
  }
  {
    let t = min(tStart + ${BQ - 1}u, tEnd - 1u); ${keyRangeWgsl(c.mode)} khi = hi;
  }
  for (var i = lid; i < ${NR * D}u; i += ${DENSE_WG}u) {
    let r = i / ${D}u; let t = tStart + r / ${HB}u; let h = h0 + r % ${HB}u;
    qs[i] = select(0.0, q[(t * u.hq + h) * ${D}u + i % ${D}u], t < tEnd && h < hEnd) * u.scale;
  }
  if (lid < ${NR}u) { rm[lid] = NEG; rl[lid] = 0.0; }
  var acc: array<f32, ${OPT}>;
  for (var o = 0u; o < ${OPT}u; o++) { acc[o] = 0.0; }
  for (var j0 = klo; j0 <= khi; j0 += ${KT}u) {
    workgroupBarrier();
    for (var i = lid; i < ${KT * D}u; i += ${DENSE_WG}u) {
      let r = i / ${D}u; let d = i % ${D}u; let j = j0 + r;
      let ok = j <= khi;
      ks[r * ${P}u + d] = select(0.0, loadK(min(j, khi), g, d), ok);
      vs[r * ${P}u + d] = select(0.0, loadV(min(j, khi), g, d), ok);
    }
    workgroupBarrier();
    for (var i = lid; i < ${NR * KT}u; i += ${DENSE_WG}u) {
      let r = i / ${KT}u; let kk = i % ${KT}u; let j = j0 + kk;
      let t = tStart + r / ${HB}u;
      ${keyRangeWgsl(c.mode)}
      var s = NEG;
      if (j >= lo && j <= hi && j <= khi) {
        s = 0.0;
        for (var d = 0u; d < ${D}u; d++) { s += qs[r * ${D}u + d] * ks[kk * ${P}u + d]; }
      }
      ps[i] = s;
    }
    workgroupBarrier();
    if (lid < ${NR}u) {
      var m = rm[lid];
      for (var kk = 0u; kk < ${KT}u; kk++) { m = max(m, ps[lid * ${KT}u + kk]); }
      var l = 0.0;
      for (var kk = 0u; kk < ${KT}u; kk++) {
        let s = ps[lid * ${KT}u + kk];
        let p = select(exp(s - m), 0.0, s <= NEG);
        ps[lid * ${KT}u + kk] = p;
        l += p;
      }
      let a = select(exp(rm[lid] - m), 1.0, rm[lid] <= NEG);
      ra[lid] = a;
      rl[lid] = rl[lid] * a + l;
      rm[lid] = m;
    }
    workgroupBarrier();
    for (var o = 0u; o < ${OPT}u; o++) {
      let i = lid + o * ${DENSE_WG}u;
      let r = min(i / ${D}u, ${NR - 1}u); let d = i % ${D}u;
      var x = acc[o] * ra[r];
      for (var kk = 0u; kk < ${KT}u; kk++) { x += ps[r * ${KT}u + kk] * vs[kk * ${P}u + d]; }
      acc[o] = x;
    }
  }
  workgroupBarrier();
  for (var o = 0u; o < ${OPT}u; o++) {
    let i = lid + o * ${DENSE_WG}u;
    let r = i / ${D}u; let d = i % ${D}u;
    let t = tStart + r / ${HB}u; let h = h0 + r % ${HB}u;
    if (r < ${NR}u && t < tEnd && h < hEnd) {
      let l = rl[r];
      out[(t * u.hq + h) * ${D}u + d] = select(acc[o] / l, 0.0, l == 0.0);
      if (d == 0u) { lse[t * u.hq + h] = select(rm[r] + log(l), bitcast<f32>(NINF_BITS), l == 0.0); }
    }
  }
}`;
}
