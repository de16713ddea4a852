/**
 * WGSL for dense softmax attention v4 (modes 'window' and 'block', head size ≤ 64): both products as
 * GEMM-style register blocks, where v3 (denseAttentionV3.wgsl.ts) holds 4 × 2 scores and 4 × 4
 * outputs a thread. A workgroup owns BR = 128 query rows (HB heads × BQ tokens, as v2 / v3) and
 * streams 64-key tiles; its 256 threads are 16 row groups (tr) × 16 key / dim columns (tc):
 *   S = Q·Kᵀ: thread (tr, tc) holds rows 8tr .. 8tr + 7 × keys tc + 16j (j < 4), summed over head dims
 *     in slices of 16 (q slice [16][128], k slice [16][64] in workgroup memory; per dim two vec4 of q
 *     and one vec4 of k for 32 multiply-adds);
 *   the rows' maxima: each thread's over its 4 keys, then the 16 partials of a row from workgroup
 *     memory (every thread of the row computes the same max, so each rescales its own partial sums);
 *   O += P·V: the same thread holds O rows 8tr .. 8tr + 7 × head dims 4tc .. 4tc + 3; P goes through
 *     workgroup memory in slices of 16 keys (slice j: key tc + 16j of every thread) beside v's 16 rows
 *     (per key two vec4 of P and one vec4 of v for 32 multiply-adds);
 *   the rows' sums l: partials summed once at the end.
 * Workgroup memory 32 KiB: q slice 8, k slice 4, row partials 8, P slice 8, v slice 4.
 * Key tiles of KT = 128 (`keyTile`; 192, 256 likewise): S blocks of 8 rows × 8 keys (tc + 16j, j < 8;
 * two vec4 of q and two of k a head dim for 64 multiply-adds), eight P·V slices a key tile, the row
 * partials in the P slice's memory (28 KiB in all).
 * Conditions inside select() use the non-short-circuit `&`: with `&&` (a branch each) SwiftShader's
 * compiler took more than 8 GB on the 32 masked scores.
 */
import { range } from '../core/codegen.js';
import { WGSL_SUBGROUPS } from '../core/program.js';
import { keyRangeWgsl } from './denseAttention.wgsl.js';
import { DENSE_V2_WG, type DenseTileV2, tileStartWgsl } from './denseAttentionV2.wgsl.js';

/** v4's tile: 128 rows (HB heads × BQ tokens), 64 keys, head size ≤ 64 (padded to 64). */
export const DENSE_V4 = { BR: 128, KT: 64, DP: 64 } as const;

/** The key tiles v4 / v5 can stream: 8 × KT/16 scores a thread. */
export const KEY_TILES_V4 = [64, 128, 192, 256] as const;
export type KeyTileV4 = (typeof KEY_TILES_V4)[number];

/** Past 64-key tiles the row partials share the P slice's workgroup memory (used between barriers apart from it). */
const partialsInP = (KT: number): boolean => KT !== DENSE_V4.KT;

/**
 * Workgroup memory of v4, in f32 words, for key tiles of KT keys (64; past 64 the row partials share
 * the P slice's memory: 28 KiB at 128 keys, 32 at 192, 36 at 256).
 */
export const denseV4Words = (KT: number = DENSE_V4.KT): number =>
  16 * DENSE_V4.BR + 16 * KT + (partialsInP(KT) ? 0 : 16 * DENSE_V4.BR) + 16 * DENSE_V4.BR + 16 * DENSE_V4.DP;

const C4 = ['x', 'y', 'z', 'w'];
const rowsOf = (i: number) => `r${i >> 2}.${C4[i & 3]}`;

/**
 * `header` declares `u` and q, k, v, out, lse (the uniforms of swaAttention.ts); c.BR = 128, c.KT = 64.
 * `prefetch` (v5): each slice's q / k (S) or v (P·V) rows are loaded into registers while the slice
 * before is multiplied (the first q / k slice of a key tile during the last P·V slice of the one
 * before), and stored from there after the barrier, so no global load waits right before a barrier.
 */
export function denseAttentionV4Wgsl(c: DenseTileV2, header: string, prefetch = false, sg = 0): string {
  const { HB, BQ, BR, KT, D } = c;
  const R8 = range(8);
  // key columns of a thread's S block (tc + 16j) and vec4 of k a head dim (keys tc + 64h + 16m)
  const KJ = range(KT / 16);
  const KH = range(KT / 64);
  const shareRed = partialsInP(KT);
  const red = (i: string) => (shareRed ? `ps[(${i}) >> 2u][(${i}) & 3u]` : `red[${i}]`);
  const pf = prefetch;
  // shuffle offsets of the row max: within subgroups of sg lanes (consecutive invocations), up to 16
  const SHUFFLES = [1, 2, 4, 8].filter((o) => o < sg);
  // the loads of a slice: q rows 4·nq .. 4·nq + 3 and k keys c, c + 16, .. at head dim dd (S); v dims 4c .. of key row a (P·V)
  const qVec = (nq: string, dd: string) => `vec4<f32>(${range(4).map((m) => `qAt(4u * ${nq} + ${m}u, ${dd}, tStart, tEnd, h0, hEnd)`).join(', ')})`;
  const kVec = (j0: string, c: string, dd: string) => `vec4<f32>(${range(4).map((m) => `kAt(${j0} + ${c} + ${16 * m}u, ${dd}, khi, g)`).join(', ')})`;
  const vVec = (c: string) => `vec4<f32>(${range(4).map((m) => `select(0.0, v[a + min(${c} + ${m}u, ${D - 1}u)], ok & (${c} + ${m}u < ${D}u))`).join(', ')})`;
  // S slice d0 of key tile j0 → registers: q rows of slots lid, lid + 256, k keys of column lid / 16
  const loadS = (j0: string, d0: string) =>
    range(2)
      .map((e) => `xq${e} = ${qVec(`(lid / 16u + ${16 * e}u)`, `${d0} + lid % 16u`)};`)
      .concat(KH.map((h) => `xk${h} = ${kVec(j0, `(lid / 16u + ${64 * h}u)`, `${d0} + lid % 16u`)};`))
      .map((l) => `      ${l}`)
      .join('\n');
  // v rows of P·V slice j of key tile j0 → xv (key lid / 16, dims 4·(lid mod 16) ..)
  const loadV = (j: number) => `    { let jj = j0 + ${16 * j}u + lid / 16u; let ok = jj <= khi; let a = (min(jj, khi) * u.hk + g) * ${D}u;
      xv = ${vVec('4u * (lid % 16u)')}; }`;
  return /* wgsl */ `
${sg > 0 ? `${WGSL_SUBGROUPS}\n` : ''}${header}
const NEG = -3.0e38;
var<private> NINF_BITS: u32 = 0xff800000u;
// q slice [16 dims][128 rows] as vec4 of rows; k slice [16 dims][${(16 * KT) / 64} columns] vec4 of keys tc + 64h + 16j
var<workgroup> qs: array<vec4<f32>, ${(16 * BR) / 4}>;
var<workgroup> ks: array<vec4<f32>, ${(16 * KT) / 4}>;
// row partials [128 rows][16 columns]
${shareRed ? '// (row partials [128 rows][16 columns] in ps)' : `var<workgroup> red: array<f32, ${16 * BR}>;`}
// P slice [16 keys][128 rows] as vec4 of rows; v slice [16 keys][64 dims] as vec4 of dims
var<workgroup> ps: array<vec4<f32>, ${(16 * BR) / 4}>;
var<workgroup> vs: array<vec4<f32>, ${(16 * 64) / 4}>;
// q of tile row n at head dim d, scaled (0 past the rows, the segment, the head group or D)
fn qAt(n: u32, d: u32, tStart: u32, tEnd: u32, h0: u32, hEnd: u32) -> f32 {
  let t = tStart + n / ${HB}u; let h = h0 + n % ${HB}u;
  let ok = (n < ${HB * BQ}u) & (t < tEnd) & (h < hEnd) & (d < ${D}u);
  return select(0.0, q[(min(t, u.tq - 1u) * u.hq + min(h, u.hq - 1u)) * ${D}u + min(d, ${D - 1}u)], ok) * u.scale;
}
// k of key j of KV head g at head dim d (0 past khi or D)
fn kAt(j: u32, d: u32, khi: u32, g: u32) -> f32 {
  return select(0.0, k[(min(j, khi) * u.hk + g) * ${D}u + min(d, ${D - 1}u)], (j <= khi) & (d < ${D}u));
}
@compute @workgroup_size(${DENSE_V2_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
${tileStartWgsl(c)}
  // row n of the tile → token tStart + n / HB, head h0 + n % HB; rows past HB·BQ, the segment or the head group see nothing
${R8.map(
  (i) => `  let t${i} = tStart + (8u * tr + ${i}u) / ${HB}u;
  var lo${i} = 1u; var hi${i} = 0u;
  if (8u * tr + ${i}u < ${HB * BQ}u && t${i} < tEnd && h0 + (8u * tr + ${i}u) % ${HB}u < hEnd) { let t = t${i}; ${keyRangeWgsl(c.mode)} lo${i} = lo; hi${i} = min(hi, khi); }
  var m${i} = NEG; var l${i} = 0.0; var o${i} = vec4<f32>(0.0);`,
).join('\n')}
${
  pf
    ? `  var xq0 = vec4<f32>(0.0); var xq1 = vec4<f32>(0.0); ${KH.map((h) => `var xk${h} = vec4<f32>(0.0); `).join('')}var xv = vec4<f32>(0.0);
  if (klo <= khi) {
${loadS('klo', '0u')}
  }`
    : ''
}
  for (var j0 = klo; j0 <= khi; j0 += ${KT}u) {
${R8.flatMap((i) => KJ.map((j) => `    var s${i}_${j} = 0.0;`)).join('\n')}
    for (var d0 = 0u; d0 < ${D}u; d0 += 16u) {
      workgroupBarrier();
${
  pf
    ? `      qs[(lid % 16u) * ${BR / 4}u + lid / 16u] = xq0;
      qs[(lid % 16u) * ${BR / 4}u + lid / 16u + 16u] = xq1;
${KH.map((h) => `      ks[(lid % 16u) * ${16 * KH.length}u + lid / 16u + ${16 * h}u] = xk${h};`).join('\n')}
      workgroupBarrier();
      if (d0 + 16u < ${D}u) {
${loadS('j0', 'd0 + 16u')}
      }`
    : `      for (var e = lid; e < ${(16 * BR) / 4}u; e += ${DENSE_V2_WG}u) {
        let nq = e / 16u; let dd = e % 16u;
        qs[dd * ${BR / 4}u + nq] = ${qVec('nq', 'd0 + dd')};
      }
      {
        let c = lid / 16u; let dd = lid % 16u;
${KH.map((h) => `        ks[dd * ${16 * KH.length}u + c + ${16 * h}u] = ${kVec('j0', `(c + ${64 * h}u)`, 'd0 + dd')};`).join('\n')}
      }
      workgroupBarrier();`
}
      for (var dd = 0u; dd < 16u; dd++) {
        let r0 = qs[dd * ${BR / 4}u + 2u * tr]; let r1 = qs[dd * ${BR / 4}u + 2u * tr + 1u];
${KH.map((h) => `        let kk${h} = ks[dd * ${16 * KH.length}u + tc + ${16 * h}u];`).join('\n')}
${R8.flatMap((i) => KJ.map((j) => `        s${i}_${j} = fma(${rowsOf(i)}, kk${j >> 2}.${C4[j & 3]}, s${i}_${j});`)).join('\n')}
      }
    }
${pf ? loadV(0) : ''}
    // masked scores, each row's max over this thread's keys → partials (with subgroups: reduced over
    // the row's ${Math.min(sg, 16) || 1} lanes by shuffles first${sg >= 16 ? ', no workgroup memory' : ''})
${R8.map(
  (i) =>
    `${KJ.map((j) => `    { let key = j0 + tc + ${16 * j}u; s${i}_${j} = select(NEG, s${i}_${j}, (key >= lo${i}) & (key <= hi${i})); }`).join('\n')}
    var pm${i} = ${KJ.slice(1).reduce((acc, j) => `max(${acc}, s${i}_${j})`, `s${i}_0`)};
${SHUFFLES.map((o) => `    pm${i} = max(pm${i}, subgroupShuffleXor(pm${i}, ${o}u));`).join('\n')}${sg >= 16 ? '' : `
    ${red(`(8u * tr + ${i}u) * 16u + tc`)} = pm${i};`}`,
).join('\n')}
${sg >= 16 ? '' : '    workgroupBarrier();'}
${R8.map(
  (i) => `    {
      var mn = max(m${i}, pm${i});
${sg >= 16 ? '' : `      for (var x = 0u; x < 16u; x += ${Math.max(sg, 1)}u) { mn = max(mn, ${red(`(8u * tr + ${i}u) * 16u + x`)}); }`}
      let a = select(exp(m${i} - mn), 1.0, m${i} <= NEG); m${i} = mn; l${i} *= a; o${i} *= a;
${KJ.map((j) => `      s${i}_${j} = select(exp(s${i}_${j} - mn), 0.0, s${i}_${j} <= NEG); l${i} += s${i}_${j};`).join('\n')}
    }`,
).join('\n')}
    // O += P·V, 16 keys a slice: slice j holds key tc + 16j of every thread
${KJ.map(
  (j) => `    workgroupBarrier();
    ps[tc * ${BR / 4}u + 2u * tr] = vec4<f32>(${range(4).map((i) => `s${i}_${j}`).join(', ')});
    ps[tc * ${BR / 4}u + 2u * tr + 1u] = vec4<f32>(${range(4).map((i) => `s${i + 4}_${j}`).join(', ')});
${
  pf
    ? `    vs[lid] = xv;
    workgroupBarrier();
${j < KJ.length - 1 ? loadV(j + 1) : `    if (j0 + ${KT}u <= khi) {
${loadS(`j0 + ${KT}u`, '0u')}
    }`}`
    : `    for (var e = lid; e < 256u; e += ${DENSE_V2_WG}u) {
      let key = e / 16u; let c = e % 16u; let jj = j0 + ${16 * j}u + key; let ok = jj <= khi;
      let a = (min(jj, khi) * u.hk + g) * ${D}u;
      vs[e] = ${vVec('4u * c')};
    }
    workgroupBarrier();`
}
    for (var kk = 0u; kk < 16u; kk++) {
      let r0 = ps[kk * ${BR / 4}u + 2u * tr]; let r1 = ps[kk * ${BR / 4}u + 2u * tr + 1u];
      let vv = vs[kk * 16u + tc];
${R8.map((i) => `      o${i} = fma(vec4<f32>(${rowsOf(i)}), vv, o${i});`).join('\n')}
    }`,
).join('\n')}
  }
  // the rows' sums from the 16 partials, then out and lse
  workgroupBarrier();
${R8.map((i) => `  ${red(`(8u * tr + ${i}u) * 16u + tc`)} = l${i};`).join('\n')}
  workgroupBarrier();
${R8.map(
  (i) => `  {
    var l = 0.0;
    for (var x = 0u; x < 16u; x++) { l += ${red(`(8u * tr + ${i}u) * 16u + x`)}; }
    let n = 8u * tr + ${i}u; let h = h0 + n % ${HB}u;
    if (n < ${HB * BQ}u && t${i} < tEnd && h < hEnd) {
      let ob = (t${i} * u.hq + h) * ${D}u;
${range(4)
  .map((m) => `      { let d = 4u * tc + ${m}u; if (d < ${D}u) { out[ob + d] = select(o${i}.${C4[m]} / l, 0.0, l == 0.0); } }`)
  .join('\n')}
      if (tc == 0u) { lse[t${i} * u.hq + h] = select(m${i} + log(l), bitcast<f32>(NINF_BITS), l == 0.0); }
    }
  }`,
).join('\n')}
}`;
}
