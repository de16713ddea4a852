/**
 * WGSL for dense softmax attention v3: v2 (denseAttentionV2.wgsl.ts) with vector reads of workgroup
 * memory. Thread (tr, tc) owns the contiguous rows tr·R .. tr·R + R − 1 (R = BR/16 = 2 or 4), the key
 * pair 2tc, 2tc + 1 of each 32-key tile and the head-dim pairs tc + 16h of each V slice, so the
 * inner loops read one vecR of q (or P) and one vec2 of K (or two of V) per R×2 (R×4) multiply-adds
 * instead of R + 2 (R + 4) scalars. Head size padded to 16, 32, 64 or 128 (two slices of 64).
 * Workgroup memory, in vectors: qs [Dp][16] vecR (q scaled); kv K: [DS][16] vec2 key pairs, pair
 * index XOR (dd mod 16); V: [32][DS/2] vec2; ps P: [32][16] vecR, row group XOR (key / 2), also the
 * [BR][16] row partials. The warp-wide reads are broadcasts or hit distinct banks.
 */
import { keyRangeWgsl } from './denseAttention.wgsl.js';
import { DENSE_V2_WG, type DenseTileV2, tileStartWgsl } from './denseAttentionV2.wgsl.js';
import { range } from '../core/codegen.js';

/** Head size padded to a power of two ≥ 16 (≤ 128). */
export const paddedDV3 = (d: number): number => Math.max(16, 2 ** Math.ceil(Math.log2(d)));

/** Workgroup memory of a v3 tile (KT = 32, DS = min(Dp, 64)), in f32 words. */
export const denseV3Words = (c: DenseTileV2): number => c.BR * paddedDV3(c.D) + c.KT * c.DS + c.KT * c.BR;

const each = (a: number, b: number, f: (i: number, j: number) => string) => range(a).flatMap((i) => range(b).map((j) => f(i, j)));
const COMP = ['x', 'y', 'z', 'w'];

/** The thread's head dims in slice sl: [register index c, dim expression]. */
function sliceDims(DS: number, sl: number): [number, string][] {
  const dcs = DS / 16;
  if (dcs === 1) return [[sl, `${sl * DS}u + tc`]];
  return range(dcs).map((c) => [sl * dcs + c, `${sl * DS}u + 2u * (tc + ${16 * (c >> 1)}u) + ${c & 1}u`]);
}

function scoreSlice(c: DenseTileV2, sl: number, R: number): string {
  const { KT, DS, D } = c;
  return `    workgroupBarrier();
    for (var e = lid; e < ${KT * DS}u; e += ${DENSE_V2_WG}u) {
      let key = e / ${DS}u; let dd = e % ${DS}u; let d = ${sl * DS}u + dd; let j = j0 + key;
      kv[dd * 16u + ((key >> 1u) ^ (dd & 15u))][key & 1u] = select(0.0, k[(min(j, khi) * u.hk + g) * ${D}u + min(d, ${D - 1}u)], j <= khi && d < ${D}u);
    }
    workgroupBarrier();
    for (var dd = 0u; dd < ${DS}u; dd++) {
      let qv = qs[(${sl * DS}u + dd) * 16u + tr];
      let kp = kv[dd * 16u + (tc ^ (dd & 15u))];
${each(R, 2, (i, j) => `      s${i}_${j} = fma(qv.${COMP[i]}, kp.${COMP[j]}, s${i}_${j});`).join('\n')}
    }`;
}

function valueSlice(c: DenseTileV2, sl: number, R: number, first: boolean): string {
  const { KT, DS, D } = c;
  const dims = sliceDims(DS, sl);
  const reads =
    DS === 16
      ? [`      let v${sl} = kv[kk * 8u + (tc >> 1u)][tc & 1u];`]
      : range(DS / 32).map((h) => `      let vp${h} = kv[kk * ${DS / 2}u + tc + ${16 * h}u];`);
  const val = (idx: number) => (DS === 16 ? `v${sl}` : `vp${idx >> 1}.${COMP[idx & 1]}`);
  return `${first ? '' : '    workgroupBarrier();\n'}    for (var e = lid; e < ${KT * DS}u; e += ${DENSE_V2_WG}u) {
      let key = e / ${DS}u; let dd = e % ${DS}u; let d = ${sl * DS}u + dd; let j = j0 + key;
      kv[e >> 1u][e & 1u] = select(0.0, v[(min(j, khi) * u.hk + g) * ${D}u + min(d, ${D - 1}u)], j <= khi && d < ${D}u);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${KT}u; kk++) {
      let pv = ps[kk * 16u + (tr ^ (kk >> 1u))];
${reads.join('\n')}
${range(R)
  .flatMap((i) => dims.map(([cc], n) => `      o${i}_${cc} = fma(pv.${COMP[i]}, ${val(n)}, o${i}_${cc});`))
  .join('\n')}
    }`;
}

/** Row reduction over the 16 partials of row tr·R + i in ps (`op` max or +). */
function rowReduce(R: number, i: number, acc: string, op: (a: string, b: string) => string): string {
  const base = `(tr * ${R}u + ${i}u) * ${16 / R}u`;
  const comps = range(R).map((c) => `w.${COMP[c]}`);
  return `    for (var x = 0u; x < ${16 / R}u; x++) { let w = ps[${base} + x]; ${comps.map((cv) => `${acc} = ${op(acc, cv)};`).join(' ')} }`;
}

/** Stores this thread's value `val(i)` of each row into the partials ps[row·16 + tc]. */
const partialStore = (R: number, val: (i: number) => string) =>
  range(R)
    .map((i) => `  { let w = (tr * ${R}u + ${i}u) * 16u + tc; ps[w / ${R}u][w % ${R}u] = ${val(i)}; }`)
    .join('\n');

/** `header` declares `u` and q, k, v, out, lse (the uniforms of swaAttention.ts). */
export function denseAttentionV3Wgsl(c: DenseTileV2, header: string): string {
  const { HB, BQ, BR, KT, D, DS } = c;
  const R = BR / 16;
  const Dp = paddedDV3(D);
  const NS = Dp / DS;
  const vecR = `vec${R}<f32>`;
  const rows = range(R);
  const dims = range(NS).flatMap((sl) => sliceDims(DS, sl));
  return /* wgsl */ `
${header}
const NEG = -3.0e38;
var<private> NINF_BITS: u32 = 0xff800000u;
var<workgroup> qs: array<${vecR}, ${Dp * 16}>;
var<workgroup> kv: array<vec2<f32>, ${(KT * DS) / 2}>;
var<workgroup> ps: array<${vecR}, ${KT * 16}>;
@compute @workgroup_size(${DENSE_V2_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
${tileStartWgsl(c)}
  for (var e = lid; e < ${BR * Dp}u; e += ${DENSE_V2_WG}u) {
    let r = e / ${Dp}u; let d = e % ${Dp}u; let t = tStart + r / ${HB}u; let h = h0 + r % ${HB}u;
    let ok = r < ${HB * BQ}u && t < tEnd && h < hEnd && d < ${D}u;
    qs[d * 16u + r / ${R}u][r % ${R}u] = select(0.0, q[(min(t, u.tq - 1u) * u.hq + min(h, u.hq - 1u)) * ${D}u + min(d, ${D - 1}u)], ok) * u.scale;
  }
${rows
  .map(
    (i) => `  let t${i} = tStart + (tr * ${R}u + ${i}u) / ${HB}u;
  var lo${i} = 0u; var hi${i} = 0u;
  { let t = t${i}; ${keyRangeWgsl(c.mode)} lo${i} = lo; hi${i} = min(hi, khi); }
  var m${i} = NEG; var l${i} = 0.0;`,
  )
  .join('\n')}
${rows.flatMap((i) => dims.map(([cc]) => `  var o${i}_${cc} = 0.0;`)).join('\n')}
${each(R, 2, (i, j) => `  var s${i}_${j} = 0.0;`).join('\n')}
  for (var j0 = klo; j0 <= khi; j0 += ${KT}u) {
${each(R, 2, (i, j) => `    s${i}_${j} = 0.0;`).join('\n')}
${range(NS)
  .map((sl) => scoreSlice(c, sl, R))
  .join('\n')}
${rows
  .map((i) =>
    range(2)
      .map((j) => `    { let key = j0 + 2u * tc + ${j}u; s${i}_${j} = select(NEG, s${i}_${j}, key >= lo${i} && key <= hi${i}); }`)
      .join('\n'),
  )
  .join('\n')}
${partialStore(R, (i) => `max(s${i}_0, s${i}_1)`).replace(/^ {2}/gm, '    ')}
    workgroupBarrier();
${rows.map((i) => `    var mn${i} = m${i};\n${rowReduce(R, i, `mn${i}`, (a, b) => `max(${a}, ${b})`)}`).join('\n')}
    workgroupBarrier();
${rows
  .map(
    (i) => `    { let a = select(exp(m${i} - mn${i}), 1.0, m${i} <= NEG); m${i} = mn${i}; l${i} *= a;
${dims.map(([cc]) => `      o${i}_${cc} *= a;`).join('\n')}
    }
${range(2)
  .map((j) => `    let p${i}_${j} = select(exp(s${i}_${j} - mn${i}), 0.0, s${i}_${j} <= NEG); l${i} += p${i}_${j};`)
  .join('\n')}`,
  )
  .join('\n')}
${range(2)
  .map((j) => `    ps[(2u * tc + ${j}u) * 16u + (tr ^ tc)] = ${vecR}(${rows.map((i) => `p${i}_${j}`).join(', ')});`)
  .join('\n')}
${range(NS)
  .map((sl) => valueSlice(c, sl, R, sl === 0))
  .join('\n')}
  }
  workgroupBarrier();
${partialStore(R, (i) => `l${i}`)}
  workgroupBarrier();
${rows
  .map(
    (i) => `  {
    var l = 0.0;
${rowReduce(R, i, 'l', (a, b) => `${a} + ${b}`)}
    let r = tr * ${R}u + ${i}u; let h = h0 + r % ${HB}u;
    if (r < ${HB * BQ}u && t${i} < tEnd && h < hEnd) {
      let ob = (t${i} * u.hq + h) * ${D}u;
${dims.map(([cc, dim]) => `      { let d = ${dim}; if (d < ${D}u) { out[ob + d] = select(o${i}_${cc} / l, 0.0, l == 0.0); } }`).join('\n')}
      if (tc == 0u) { lse[t${i} * u.hq + h] = select(m${i} + log(l), bitcast<f32>(NINF_BITS), l == 0.0); }
    }
  }`,
  )
  .join('\n')}
}`;
}
