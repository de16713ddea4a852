/**
 * WGSL for dense softmax attention v2 (modes 'window' and 'block'), register-blocked like the GEMM.
 * A workgroup owns BR query rows (BQ tokens × HB query heads of one KV head g) and streams KT-key
 * tiles. The 256 threads form a 16 × 16 grid (tr, tc): thread (tr, tc) owns rows tr + 16i (i < R),
 * keys tc + 16j of each tile (j < KC) for S = Q·Kᵀ, and head dims tc + 16c (c < DC) of O, so the
 * online-softmax state of a row (max m, partial sum l) lives in the registers of its 16 threads:
 *   S block → masked → per-thread row max → 16 partials through workgroup memory → row max
 *   → P = e^(S−m) into workgroup memory → O·α + P·V accumulated in registers.
 * The row sums stay per thread until the end (one reduction per workgroup, not per tile).
 * Workgroup memory (f32 words): qs [Dp][BR] (scaled q), kv [KT][DS] (K stored d-major with an XOR
 * swizzle, then V key-major, one head-dim slice of DS at a time), ps [KT][BR] (P, swizzled; also the
 * [BR][16] row partials). Every read of the inner loops is free of bank conflicts (32 banks).
 * The template is unrolled in TypeScript (named registers), as in matmul.wgsl.ts.
 */
import { WGSL_LINEAR_WORKGROUP } from '../core/program.js';
import { keyRangeWgsl } from './denseAttention.wgsl.js';
import { range } from '../core/codegen.js';

export interface DenseTileV2 {
  /** query heads per workgroup */
  HB: number;
  /** tokens per workgroup */
  BQ: number;
  /** query rows of the tile: 16·R ≥ HB·BQ */
  BR: number;
  /** keys per tile (16·KC) */
  KT: number;
  /** head size (compiled in); padded to Dp (paddedD) in workgroup memory */
  D: number;
  /** head dims per K/V slice in workgroup memory: Dp, or Dp/2 for D > 64 */
  DS: number;
  mode: 'window' | 'block';
}

export const DENSE_V2_WG = 256;

/** Head size padded to the 16 thread columns (to 32 above 64, so that two slices of DS = Dp/2 split it). */
export const paddedD = (d: number): number => (d > 64 ? Math.ceil(d / 32) * 32 : Math.ceil(d / 16) * 16);

/** Workgroup memory of a v2 tile, in f32 words. */
export const denseV2Words = (c: DenseTileV2): number => c.BR * paddedD(c.D) + c.KT * c.DS + c.KT * c.BR;

/** Lines `f(i, j)` for every i < a, j < b. */
const each = (a: number, b: number, f: (i: number, j: number) => string) => range(a).flatMap((i) => range(b).map((j) => f(i, j)));

/** `ps` index of P[key][row]: rows XOR-swizzled by 2·(key mod 16), so the 32 stores of a warp hit 32 banks. */
const pIndex = (key: string, row: string, BR: number) => `(${key}) * ${BR}u + ((${row}) ^ (((${key}) & 15u) << 1u))`;

/** S += Q·Kᵀ over one K slice (head dims sl·DS ..), K stored kv[dd·KT + (key ^ (dd mod KT))]. */
function scoreSlice(c: DenseTileV2, sl: number, R: number, KC: number): string {
  const { BR, KT, DS, D } = c;
  return `    workgroupBarrier();
    for (var e = lid; e < ${KT * DS}u; e += ${DENSE_V2_WG}u) {
      let key = e / ${DS}u; let dd = e % ${DS}u; let d = ${sl * DS}u + dd; let j = j0 + key;
      kv[dd * ${KT}u + (key ^ (dd & ${KT - 1}u))] = select(0.0, k[(min(j, khi) * u.hk + g) * ${D}u + min(d, ${D - 1}u)], j <= khi && d < ${D}u);
    }
    workgroupBarrier();
    for (var dd = 0u; dd < ${DS}u; dd++) {
      let qb = (${sl * DS}u + dd) * ${BR}u + tr; let kb = dd * ${KT}u; let x = dd & ${KT - 1}u;
${range(R).map((i) => `      let q${i} = qs[qb + ${16 * i}u];`).join('\n')}
${range(KC).map((j) => `      let k${j} = kv[kb + ((tc + ${16 * j}u) ^ x)];`).join('\n')}
${each(R, KC, (i, j) => `      s${i}_${j} = fma(q${i}, k${j}, s${i}_${j});`).join('\n')}
    }`;
}

/** O += P·V over one V slice; `load` first stages the slice (after a barrier unless `first`). */
function valueSlice(c: DenseTileV2, sl: number, R: number, first: boolean): string {
  const { BR, KT, DS, D } = c;
  const dims = range(DS / 16).map((cc) => cc + (sl * DS) / 16);
  return `${first ? '' : '    workgroupBarrier();\n'}    for (var e = lid; e < ${KT * DS}u; e += ${DENSE_V2_WG}u) {
      let key = e / ${DS}u; let dd = e % ${DS}u; let d = ${sl * DS}u + dd; let j = j0 + key;
      kv[e] = select(0.0, v[(min(j, khi) * u.hk + g) * ${D}u + min(d, ${D - 1}u)], j <= khi && d < ${D}u);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${KT}u; kk++) {
${range(R).map((i) => `      let p${i} = ps[${pIndex('kk', `tr + ${16 * i}u`, BR)}];`).join('\n')}
${dims.map((cc) => `      let v${cc} = kv[kk * ${DS}u + tc + ${16 * (cc - (sl * DS) / 16)}u];`).join('\n')}
${range(R)
  .flatMap((i) => dims.map((cc) => `      o${i}_${cc} = fma(p${i}, v${cc}, o${i}_${cc});`))
  .join('\n')}
    }`;
}

/**
 * The start of `main` in v2 and v3: workgroup → (segment, token tile, KV head g, head block) as in
 * v1, the tile's tokens [tStart, tEnd) and heads [h0, hEnd), the thread's place (tr, tc) in the
 * 16 × 16 grid, and the union key range [klo, khi] of the tile's tokens.
 */
export function tileStartWgsl(c: DenseTileV2): string {
  return `  var wgi = ${WGSL_LINEAR_WORKGROUP};
  if (wgi >= u.nwg) { return; }
  let hb = wgi % u.hblocks; wgi /= u.hblocks;
  let g = wgi % u.hk; wgi /= u.hk;
  // token tiles last to first: with a causal window the later tiles see more keys, start them first
  let qt = u.qtiles - 1u - wgi % u.qtiles;
  let seg = wgi / u.qtiles;
  let s0 = seg * u.segLen;
  let tStart = s0 + qt * ${c.BQ}u;
  let tEnd = min(s0 + u.segLen, u.tq);
  let h0 = g * u.ratio + hb * ${c.HB}u;
  let hEnd = (g + 1u) * u.ratio;
  let tr = lid / 16u;
  let tc = lid % 16u;
  var klo = 0u; var khi = 0u;
  { let t = tStart; ${keyRangeWgsl(c.mode)} klo = lo; }
  { let t = min(tStart + ${c.BQ - 1}u, tEnd - 1u); ${keyRangeWgsl(c.mode)} khi = hi; }`;
}

/** `header` declares `u` and q, k, v, out, lse (the uniforms of swaAttention.ts). */
export function denseAttentionV2Wgsl(c: DenseTileV2, header: string): string {
  const { HB, BQ, BR, KT, D, DS } = c;
  const R = BR / 16;
  const KC = KT / 16;
  const Dp = paddedD(D);
  const DC = Dp / 16;
  const NS = Dp / DS;
  const rows = range(R);
  return /* wgsl */ `
${header}
const NEG = -3.0e38;
var<private> NINF_BITS: u32 = 0xff800000u;
var<workgroup> qs: array<f32, ${BR * Dp}>;
var<workgroup> kv: array<f32, ${KT * DS}>;
var<workgroup> ps: array<f32, ${KT * BR}>;
@compute @workgroup_size(${DENSE_V2_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
${tileStartWgsl(c)}
  // q rows → qs[d][row], scaled; rows past HB·BQ or outside the segment / head group are 0
  for (var e = lid; e < ${BR * Dp}u; e += ${DENSE_V2_WG}u) {
    let r = e / ${Dp}u; let d = e % ${Dp}u; let t = tStart + r / ${HB}u; let h = h0 + r % ${HB}u;
    let ok = r < ${HB * BQ}u && t < tEnd && h < hEnd && d < ${D}u;
    qs[d * ${BR}u + r] = select(0.0, q[(min(t, u.tq - 1u) * u.hq + min(h, u.hq - 1u)) * ${D}u + min(d, ${D - 1}u)], ok) * u.scale;
  }
  // this thread's rows: key range [lo_i, hi_i], running max m_i, partial sum l_i, outputs o_i_c
${rows
  .map(
    (i) => `  let t${i} = tStart + (tr + ${16 * i}u) / ${HB}u;
  var lo${i} = 0u; var hi${i} = 0u;
  { let t = t${i}; ${keyRangeWgsl(c.mode)} lo${i} = lo; hi${i} = min(hi, khi); }
  var m${i} = NEG; var l${i} = 0.0;`,
  )
  .join('\n')}
${each(R, DC, (i, cc) => `  var o${i}_${cc} = 0.0;`).join('\n')}
${each(R, KC, (i, j) => `  var s${i}_${j} = 0.0;`).join('\n')}
  for (var j0 = klo; j0 <= khi; j0 += ${KT}u) {
${each(R, KC, (i, j) => `    s${i}_${j} = 0.0;`).join('\n')}
${range(NS)
  .map((sl) => scoreSlice(c, sl, R, KC))
  .join('\n')}
    // mask, then the row max: per-thread partials → ps[row·16 + tc] → all 16 read back
${rows
  .map((i) => {
    const lines = range(KC).map(
      (j) => `    { let key = j0 + tc + ${16 * j}u; s${i}_${j} = select(NEG, s${i}_${j}, key >= lo${i} && key <= hi${i}); }`,
    );
    const mx = range(KC).reduce((a, j) => `max(${a}, s${i}_${j})`, 'NEG');
    return `${lines.join('\n')}\n    ps[(tr + ${16 * i}u) * 16u + tc] = ${mx};`;
  })
  .join('\n')}
    workgroupBarrier();
${rows
  .map(
    (i) => `    var mn${i} = m${i};
    for (var x = 0u; x < 16u; x++) { mn${i} = max(mn${i}, ps[(tr + ${16 * i}u) * 16u + x]); }`,
  )
  .join('\n')}
    workgroupBarrier();
    // rescale by α = e^(m_old − m_new), then P = e^(S − m_new) (0 where masked) into ps
${rows
  .map((i) => {
    const ps = range(KC).map(
      (j) => `    { let p = select(exp(s${i}_${j} - mn${i}), 0.0, s${i}_${j} <= NEG); l${i} += p; ps[${pIndex(`tc + ${16 * j}u`, `tr + ${16 * i}u`, BR)}] = p; }`,
    );
    return `    { let a = select(exp(m${i} - mn${i}), 1.0, m${i} <= NEG); m${i} = mn${i}; l${i} *= a;
${range(DC)
  .map((cc) => `      o${i}_${cc} *= a;`)
  .join('\n')}
    }
${ps.join('\n')}`;
  })
  .join('\n')}
${range(NS)
  .map((sl) => valueSlice(c, sl, R, sl === 0))
  .join('\n')}
  }
  // row sums: 16 partials per row through ps (after the last tile's reads of P)
  workgroupBarrier();
${rows.map((i) => `  ps[(tr + ${16 * i}u) * 16u + tc] = l${i};`).join('\n')}
  workgroupBarrier();
${rows
  .map(
    (i) => `  {
    var l = 0.0;
    for (var x = 0u; x < 16u; x++) { l += ps[(tr + ${16 * i}u) * 16u + x]; }
    let r = tr + ${16 * i}u; let h = h0 + r % ${HB}u;
    if (r < ${HB * BQ}u && t${i} < tEnd && h < hEnd) {
      let ob = (t${i} * u.hq + h) * ${D}u;
${range(DC)
  .map((cc) => `      if (tc + ${16 * cc}u < ${D}u) { out[ob + tc + ${16 * cc}u] = select(o${i}_${cc} / l, 0.0, l == 0.0); }`)
  .join('\n')}
      if (tc == 0u) { lse[t${i} * u.hq + h] = select(m${i} + log(l), bitcast<f32>(NINF_BITS), l == 0.0); }
    }
  }`,
  )
  .join('\n')}
}`;
}
