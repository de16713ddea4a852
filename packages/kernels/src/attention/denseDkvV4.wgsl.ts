/**
 * WGSL for the dense-attention backward's dK / dV kernel with the score-gradient band (v3's dkv,
 * denseAttentionDkvDs) as GEMM-style register blocks, head size ≤ 64, in the manner of the forward's
 * v4 (denseAttentionV4.wgsl.ts); swaAttentionBackwardV2.wgsl.ts's dkv splits its threads in halves
 * with 2 × 4 blocks. A workgroup owns KT = 64 keys of one KV head and streams the query rows that see
 * them in tiles of BR = 16·NR rows (rows of KV head g token-major, as v1 / v2); its 256 threads are 16
 * key groups (tr) × 16 row / dim columns (tc):
 *   A. Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ: thread (tr, tc) holds keys 4tr .. 4tr + 3 × rows tc + 16b (b < NR) of
 *      both, summed over head dims in slices of 16 (k, v slices [16][64 keys], q, dout slices
 *      [16][BR rows] in workgroup memory, rows of a thread one or two vec4: per dim 2 + 2·NR/4 vec4
 *      reads for 8·NR multiply-adds);
 *   P = exp(S·scale − lse) (0 where the key is not visible), dS = P·(dP − delta)·scale, in registers;
 *   B. dV += Pᵀ·dO and dK += dSᵀ·Q: the same thread holds keys 4tr .. 4tr + 3 × head dims 4tc .. 4tc + 3
 *      of both; P and dS go through workgroup memory in slices of 16 rows (slice b: row tc + 16b of
 *      every thread, as whole vec4 of keys) beside those rows of dout and q (per row 4 vec4 reads for
 *      32 multiply-adds); each slice's dS is also stored to the band, a row's 64 keys by 16 threads.
 * A warp is 4 key groups × 8 columns, so that a vec4 read of workgroup memory serves 4 keys or 8 rows
 * / dims in one pass; vec4 slot x of row r of an array of w slots a row (16, or 32 for q / dout with
 * NR = 8) lies at w·r + (x XOR r) (r < 16: a permutation within the row), so that a warp's stores
 * (16 rows) and its reads (one row, 4 or 8 slots) spread over the banks.
 * Workgroup memory (vec4): phase A 2·4·BR + 2·256, phase B 4·256, one array used by both (the barrier
 * that starts a slice of B follows the last reads of A): 16 KiB for NR = 4, 24 KiB for NR = 8.
 * Conditions inside select() use the non-short-circuit `&` (denseAttentionV4.wgsl.ts says why).
 */
import { range } from '../core/codegen.js';
import { denseBackEntry, dkvKeyTile, keyRangeFnsWgsl, Q_INDEX_WGSL } from './swaAttentionBackward.wgsl.js';
import { dsAtWgsl } from './swaAttentionBackwardV2.wgsl.js';

/** v4 dkv's tile: NR rows of a thread's S block (4 or 8: BR = 16·NR rows a row tile), mode, head size ≤ 64. */
export interface DenseDkvTileV4 {
  NR: 4 | 8;
  D: number;
  mode: 'window' | 'block';
  /**
   * Load the next head-dim slice (phase A) and the next 16-row slice (phase B) into registers while
   * the current one is multiplied, instead of right before the barrier that publishes it.
   */
  prefetch?: boolean;
  /** unroll the 16-step loops over a slice's head dims (phase A) and rows (phase B) in the generated code */
  unroll?: boolean;
  /**
   * Query heads per KV head compiled in (row / ratio and row % ratio by a constant: shifts or
   * multiplies), instead of read from the uniforms.
   */
  ratio?: number;
  /** workgroups tile-major across KV heads and segments (denseBackEntry), else head-major */
  tileMajor?: boolean;
  /**
   * Phase B in halves: threads 0–127 accumulate dV, 128–255 dK, each for 4 keys × 8 head dims (dims
   * 4c .. 4c + 3 and 32 + 4c ..), so a row of a slice costs 3 vec4 reads of workgroup memory for 32
   * multiply-adds instead of 4 (each thread both dV and dK for 4 keys × 4 dims).
   */
  halves?: boolean;
}

/** Keys a workgroup of the v4 dkv kernel owns. */
export const DKV_V4_KT = 64;

/** Workgroup memory of the v4 dkv kernel, in f32 words. */
export const denseDkvV4Words = (c: DenseDkvTileV4): number => 4 * Math.max(8 * 16 * c.NR + 512, 1024);

const C4 = ['x', 'y', 'z', 'w'];

/** dk, dv and the band ds: `header` declares `u` and q, k, v, dout, ld ([lse | delta]), dk, dv, ds. */
export function denseDkvV4Wgsl(c: DenseDkvTileV4, header: string): string {
  const { NR, D } = c;
  const BR = 16 * NR;
  const H = NR / 4; // vec4 of rows a thread per dim
  const SL = Math.ceil(D / 16); // head-dim slices of phase A
  const A4 = range(4);
  const B = range(NR);
  const words = denseDkvV4Words(c) / 4;
  // phase A offsets (vec4): q slice [16][BR/4], dout slice, k slice [16][16], v slice
  const [QA, OA, KA, VA] = [0, 4 * BR, 8 * BR, 8 * BR + 256];
  // phase B offsets: P slice [16 rows][16 key vec4], dS slice, dout rows [16][16 dim vec4], q rows
  const [PB, SB, OB, QB] = [0, 256, 512, 768];
  const { wgsl: keyTile, tLo, tHi } = dkvKeyTile(c.mode, DKV_V4_KT);
  const IT = range(NR / 4); // phase-A row loads a thread: vec4 slots lid / 16 + 16·it
  // element m of vec4 slot nq of a phase-A row slice → row (nq / H) + 16·(4·(nq mod H) + m) of the tile
  const rowOfSlot = (it: number, m: number) => `r0 + nq${it} / ${H}u + ${16 * 4}u * (nq${it} % ${H}u) + ${16 * m}u`;
  // element dd of a row (its clamped start `at`, 0 where !ok or dd ≥ D)
  const el = (buf: string, at: string, ok: string, dd: string) => `select(0.0, ${buf}[${at} + min(${dd}, ${D - 1}u)], ${ok} & (${dd} < ${D}u))`;
  // phase A's workgroup-memory slot of this thread: row vec4 slot it of the q / dout slice at `off`, or the k / v slice's
  const rowSlot = (off: number, it: number) => `sm[${off}u + (lid % 16u) * ${BR / 4}u + (nq${it} ^ (lid % 16u))]`;
  const keySlot = (off: number) => `sm[${off}u + (lid % 16u) * 16u + (kq ^ (lid % 16u))]`;
  // phase A's loads of head dim dd: q / dout row slot it, k / v keys 4kq ..
  const rowsVec = (buf: string, it: number) => `vec4<f32>(${A4.map((m) => el(buf, `ra${it}_${m}`, `rok${it}_${m}`, 'dd')).join(', ')})`;
  const keysVec = (buf: string) => `vec4<f32>(${A4.map((m) => el(buf, `ka${m}`, `kok${m}`, 'dd')).join(', ')})`;
  const rowsLoad = (buf: string, off: number) => IT.map((it) => `      ${rowSlot(off, it)} = ${rowsVec(buf, it)};`).join('\n');
  const keysLoad = (buf: string, off: number) => `      ${keySlot(off)} = ${keysVec(buf)};`;
  // prefetch registers: phase A's q / dout row slots (xq{it}, xo{it}) and k / v (xk, xv) of head dims dd
  const loadA = (d0: string) =>
    `      { let dd = ${d0} + lid % 16u;
${IT.map((it) => `        xq${it} = ${rowsVec('q', it)}; xo${it} = ${rowsVec('dout', it)};`).join('\n')}
        xk = ${keysVec('k')}; xv = ${keysVec('v')}; }`;
  const storeA = [
    ...IT.map((it) => `      ${rowSlot(QA, it)} = xq${it};`),
    ...IT.map((it) => `      ${rowSlot(OA, it)} = xo${it};`),
    `      ${keySlot(KA)} = xk;`,
    `      ${keySlot(VA)} = xv;`,
  ].join('\n');
  const rowVec = (buf: string, b: number) => `vec4<f32>(${A4.map((m) => el(buf, `ba${b}`, `bok${b}`, `4u * tc + ${m}u`)).join(', ')})`;
  const pf = c.prefetch === true;
  // a 16-step loop over \`v\`: a WGSL loop, or (unroll) 16 blocks with \`v\` a constant
  const loop16 = (v: string, indent: string, body: string) =>
    c.unroll ? range(16).map((i) => `${indent}{ let ${v} = ${i}u;\n${body}\n${indent}}`).join('\n') : `${indent}for (var ${v} = 0u; ${v} < 16u; ${v}++) {\n${body}\n${indent}}`;
  const hv = c.halves === true;
  // phase B's loop for one half: P (dV) or dS (dK) of keys 4kg .. against dout or q rows, dims 4dg .. and 32 + 4dg ..
  const halfLoop = (keys: number, rows: number) =>
    loop16(
      'rr',
      '      ',
      `        let xv = sm[${keys}u + rr * 16u + (kg ^ rr)];
        let y0 = sm[${rows}u + rr * 16u + dg]; let y1 = sm[${rows}u + rr * 16u + dg + 8u];
${A4.map((a) => `        h${a}_0 = fma(vec4<f32>(xv.${C4[a]}), y0, h${a}_0); h${a}_1 = fma(vec4<f32>(xv.${C4[a]}), y1, h${a}_1);`).join('\n')}`,
    );
  const code = /* wgsl */ `
${header}
var<workgroup> sm: array<vec4<f32>, ${words}>;
${keyRangeFnsWgsl(c.mode)}
${Q_INDEX_WGSL}
${dsAtWgsl(c.mode)}
// the start of query row \`row\` of KV head g in q / dout (clamped into the tensors)
fn rowStart(row: u32, s0: u32, g: u32) -> u32 { return min(qIndex(s0, g, row), u.nq / ${D}u - 1u) * ${D}u; }
${denseBackEntry(false, c.tileMajor === true)}
${keyTile}
  // a warp: 4 key groups × 8 row / dim columns (vec4 reads of workgroup memory: 4 keys of 4 groups, 4 rows / dims of 8 columns)
  let w = lid / 32u; let ln = lid % 32u;
  let tr = 4u * (w / 2u) + ln / 8u; let tc = 8u * (w % 2u) + ln % 8u;
  // phase A's loads of k / v: keys 4kq .. 4kq + 3, head dim d0 + lid mod 16
  let kq = lid / 16u;
${A4.map((m) => `  let kok${m} = j0 + 4u * kq + ${m}u < jEnd; let ka${m} = min((j0 + 4u * kq + ${m}u) * u.hk + g, u.nk / ${D}u - 1u) * ${D}u;`).join('\n')}
  // the queries that see these keys: tokens ${tLo} .. ${tHi}
  let rlo = (${tLo} - s0) * u.ratio;
  let rhi = (${tHi} - s0 + 1u) * u.ratio;
  let nrows = u.nq / ${D}u;
${A4.map((a) => `  let key${a} = j0 + 4u * tr + ${a}u;${hv ? '' : `\n  var dv${a} = vec4<f32>(0.0); var dk${a} = vec4<f32>(0.0);`}`).join('\n')}
${
  hv
    ? `  // phase B in halves: dV (threads < 128) or dK of keys 4kg .., head dims 4dg .. and 32 + 4dg ..
  let hl = lid % 128u; let kg = 4u * (hl / 32u) + (hl % 32u) / 8u; let dg = hl % 8u;
${A4.map((a) => `  var h${a}_0 = vec4<f32>(0.0); var h${a}_1 = vec4<f32>(0.0);`).join('\n')}`
    : ''
}
${pf ? `  // prefetch registers (phase A: xq, xo, xk, xv; phase B: xo0, xq0)
${IT.map((it) => `  var xq${it} = vec4<f32>(0.0); var xo${it} = vec4<f32>(0.0);`).join('\n')}
  var xk = vec4<f32>(0.0); var xv = vec4<f32>(0.0);` : ''}
  for (var r0 = rlo; r0 < rhi; r0 += ${BR}u) {
${B.map((b) => A4.map((a) => `    var s${a}_${b} = 0.0; var p${a}_${b} = 0.0;`).join('\n')).join('\n')}
    // the rows this thread loads: phase A (vec4 slots nq), phase B (row 16b + tr of slice b)
${IT.map((it) => `    let nq${it} = lid / 16u + ${16 * it}u;\n${A4.map((m) => `    let rok${it}_${m} = ${rowOfSlot(it, m)} < rhi; let ra${it}_${m} = rowStart(${rowOfSlot(it, m)}, s0, g);`).join('\n')}`).join('\n')}
${B.map((b) => `    let bok${b} = r0 + ${16 * b}u + tr < rhi; let ba${b} = rowStart(r0 + ${16 * b}u + tr, s0, g);`).join('\n')}
    // A: Sᵀ (s) and dPᵀ (p) over head dims in slices of 16
${pf ? loadA('0u') : ''}
    for (var d0 = 0u; d0 < ${16 * SL}u; d0 += 16u) {
      workgroupBarrier();
${
  pf
    ? `${storeA}
      workgroupBarrier();
      if (d0 + 16u < ${16 * SL}u) {
${loadA('d0 + 16u')}
      }`
    : `      let dd = d0 + lid % 16u;
${rowsLoad('q', QA)}
${rowsLoad('dout', OA)}
${keysLoad('k', KA)}
${keysLoad('v', VA)}
      workgroupBarrier();`
}
${loop16(
  'dd',
  '      ',
  `        let kk = sm[${KA}u + dd * 16u + (tr ^ dd)]; let vv = sm[${VA}u + dd * 16u + (tr ^ dd)];
${range(H)
  .map((h) => `        let q${h} = sm[${QA}u + dd * ${BR / 4}u + ((${H}u * tc + ${h}u) ^ dd)]; let o${h} = sm[${OA}u + dd * ${BR / 4}u + ((${H}u * tc + ${h}u) ^ dd)];`)
  .join('\n')}
${B.flatMap((b) =>
  A4.map(
    (a) =>
      `        s${a}_${b} = fma(kk.${C4[a]}, q${b >> 2}.${C4[b & 3]}, s${a}_${b}); p${a}_${b} = fma(vv.${C4[a]}, o${b >> 2}.${C4[b & 3]}, p${a}_${b});`,
  ),
).join('\n')}`,
)}
    }
${pf ? `    xo0 = ${rowVec('dout', 0)}; xq0 = ${rowVec('q', 0)};` : ''}
    // P (in s) and dS (in p) of this thread's rows tc + 16b
${B.map(
  (b) => `    {
      let row = r0 + tc + ${16 * b}u; let t = s0 + row / u.ratio;
      let lo = keyLo(t, s0); let hi = min(keyHi(t, s0), jEnd - 1u); let ok = row < rhi;
      let ra = min(qIndex(s0, g, row), nrows - 1u);
      let lse = ld[ra]; let delta = ld[nrows + ra];
${A4.map(
  (a) =>
    `      s${a}_${b} = select(0.0, exp(s${a}_${b} * u.scale - lse), ok & (key${a} >= lo) & (key${a} <= hi)); p${a}_${b} = s${a}_${b} * (p${a}_${b} - delta) * u.scale;`,
).join('\n')}
    }`,
).join('\n')}
    // B: slices of 16 rows (slice b: row tc + 16b of every thread)
${B.map(
  (b) => `    workgroupBarrier();
    sm[${PB}u + tc * 16u + (tr ^ tc)] = vec4<f32>(${A4.map((a) => `s${a}_${b}`).join(', ')});
    sm[${SB}u + tc * 16u + (tr ^ tc)] = vec4<f32>(${A4.map((a) => `p${a}_${b}`).join(', ')});
    sm[${OB}u + tr * 16u + tc] = ${pf ? 'xo0' : rowVec('dout', b)};
    sm[${QB}u + tr * 16u + tc] = ${pf ? 'xq0' : rowVec('q', b)};
    workgroupBarrier();${pf && b + 1 < NR ? `
    xo0 = ${rowVec('dout', b + 1)}; xq0 = ${rowVec('q', b + 1)};` : ''}
    {
      // the slice's dS to the band: row tr of the slice, keys 4tc .. 4tc + 3
      let row = r0 + ${16 * b}u + tr; let t = s0 + row / u.ratio;
      let lo = keyLo(t, s0); let hi = min(keyHi(t, s0), jEnd - 1u);
      let at = dsAt(s0, g, row, t, 0u); let x = sm[${SB}u + tr * 16u + (tc ^ tr)];
      if (row < rhi) {
${A4.map((m) => `        { let key = j0 + 4u * tc + ${m}u; if ((key >= lo) & (key <= hi)) { ds[at + key] = x.${C4[m]}; } }`).join('\n')}
      }
    }
${
  hv
    ? `    if (lid < 128u) {
${halfLoop(PB, OB)}
    } else {
${halfLoop(SB, QB)}
    }`
    : loop16(
        'rr',
        '    ',
        `      let pv = sm[${PB}u + rr * 16u + (tr ^ rr)]; let sv = sm[${SB}u + rr * 16u + (tr ^ rr)];
      let ov = sm[${OB}u + rr * 16u + tc]; let qv = sm[${QB}u + rr * 16u + tc];
${A4.map((a) => `      dv${a} = fma(vec4<f32>(pv.${C4[a]}), ov, dv${a}); dk${a} = fma(vec4<f32>(sv.${C4[a]}), qv, dk${a});`).join('\n')}`,
      )
}`,
).join('\n')}
  }
${
  hv
    ? A4.map(
        (a) => `  { let key = j0 + 4u * kg + ${a}u;
    if (key < jEnd) {
      let o = (key * u.hk + g) * ${D}u;
${range(2)
  .flatMap((x) => A4.map((m) => `      { let d = ${32 * x}u + 4u * dg + ${m}u; if (d < ${D}u) { if (lid < 128u) { dv[o + d] = h${a}_${x}.${C4[m]}; } else { dk[o + d] = h${a}_${x}.${C4[m]}; } } }`))
  .join('\n')}
    }
  }`,
      ).join('\n')
    : A4.map(
        (a) => `  if (key${a} < jEnd) {
    let o = (key${a} * u.hk + g) * ${D}u;
${A4.map((m) => `    { let d = 4u * tc + ${m}u; if (d < ${D}u) { dv[o + d] = dv${a}.${C4[m]}; dk[o + d] = dk${a}.${C4[m]}; } }`).join('\n')}
  }`,
      ).join('\n')
}
}`;
  // every read of the uniform's ratio (here and in the shared helpers above) as the literal
  return c.ratio === undefined ? code : code.replaceAll('u.ratio', `${c.ratio}u`);
}
