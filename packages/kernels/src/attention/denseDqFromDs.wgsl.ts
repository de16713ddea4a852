/**
 * WGSL for the dense-attention backward v3's dq: dq[row] = Σ_j dS[row, j]·k[j] over the keys the row
 * sees, reading dS from the score-gradient band the dkv kernel stored (denseDsBand) instead of
 * recomputing S, P and dP (v2's dq does three of its four products again for that).
 * A workgroup owns BR query rows of one KV head and segment (row enumeration as v1 / v2: row i → token
 * s0 + i / ratio, head g·ratio + i mod ratio) and streams KT-key tiles: dS transposed into workgroup
 * memory (vectors of V = min(NR, 4) rows, XOR-swizzled by key), k as vec4 of head dims; each of the
 * 256 threads accumulates an NR rows × 4G dims block of dq in registers. Entries of the band the row
 * does not see are never read (zero in the tile). Row tiles run longest first (causal: the last).
 */
import { range } from '../core/codegen.js';
import { paddedDV3 } from './denseAttentionV3.wgsl.js';
import { DENSE_BACK_WG, denseBackEntry, keyRangeFnsWgsl, Q_INDEX_WGSL } from './swaAttentionBackward.wgsl.js';
import { dsAtWgsl } from './swaAttentionBackwardV2.wgsl.js';

export interface DqFromDsTile {
  /** query rows of the workgroup: NR · 256 / (Dp / 4G) */
  BR: number;
  /** keys of a streamed tile */
  KT: number;
  /** rows of a thread's block (1, 2, 4, 8) */
  NR: number;
  /** vec4 groups of head dims of a thread's block */
  G: number;
  /** head size (compiled in, ≤ 128) */
  D: number;
  mode: 'window' | 'block';
  /**
   * The next key tile's dS and k loaded into registers while the current one is multiplied; each
   * thread's dS rows (fixed across tiles) keep their band place and key range in registers.
   */
  prefetch?: boolean;
  /** workgroups tile-major across KV heads and segments (denseBackEntry), else head-major */
  tileMajor?: boolean;
}

/** A tile: [BR, KT, NR, G]. */
export type DqFromDsShape = [BR: number, KT: number, NR: number, G: number];

/**
 * Tiles by padded head size (8–25 KiB of workgroup memory); D 64 from bench/attention-backward (H200,
 * T 4096 causal, 8 heads): 64 rows × 16 keys 0.64 ms, × 32 keys 0.66, 128 × 32 (8 rows a thread) 0.98.
 * With `prefetch` (the default there, swaAttentionBackward.ts) 64 × 32 takes 0.48 ms.
 */
const SHAPES: Record<number, DqFromDsShape> = { 16: [64, 32, 1, 1], 32: [64, 32, 2, 1], 64: [64, 16, 4, 1], 128: [64, 32, 4, 2] };

/** The tile of a head size ≤ 128 (`shape` instead of the table's). */
export function dqFromDsTile(d: number, mode: DqFromDsTile['mode'], shape?: DqFromDsShape): DqFromDsTile {
  const [BR, KT, NR, G] = shape ?? SHAPES[paddedDV3(d)];
  return { BR, KT, NR, G, D: d, mode };
}

/** Why a tile cannot be generated, or null. */
export function dqFromDsInvalid(c: DqFromDsTile): string | null {
  const DP4 = paddedDV3(c.D) / 4;
  const pow2 = (x: number) => Number.isInteger(x) && x >= 1 && (x & (x - 1)) === 0;
  if (![c.BR, c.KT, c.NR, c.G].every(pow2)) return 'sizes must be powers of two';
  if (c.NR > 8 || c.G > DP4) return `NR ≤ 8 rows, G ≤ ${DP4} vec4 groups`;
  if (c.NR * (DENSE_BACK_WG / (DP4 / c.G)) !== c.BR) return 'blocks must cover BR = NR·256/(Dp/4G) rows';
  return null;
}

/** Workgroup memory of a tile in 4-byte words: dS [KT][BR], k [KT][Dp], the rows' band places [BR] vec4. */
export const dqFromDsWords = (c: DqFromDsTile): number => c.KT * (c.BR + paddedDV3(c.D)) + 4 * c.BR;

const COMP = ['x', 'y', 'z', 'w'];

/** `header` declares `u` (swaAttentionBackward.ts's uniforms) and ds, k, dq. */
export function denseDqFromDsWgsl(c: DqFromDsTile, header: string): string {
  const { BR, KT } = c;
  const { DP4, V, vt } = sizes(c);
  return /* wgsl */ `
${header}
var<workgroup> dsT: array<${vt}, ${(KT * BR) / V}>;
var<workgroup> ks: array<vec4<f32>, ${KT * DP4}>;
// the workgroup's rows: band index of key 0 (mod 2³²), first and last key seen (none past the rows)
var<workgroup> rowAt: array<vec3<u32>, ${BR}>;
${keyRangeFnsWgsl(c.mode)}
${dsAtWgsl(c.mode)}
${Q_INDEX_WGSL}
// dS of the tile's row n and key j where the row sees the key, else 0
fn dsOf(n: u32, j: u32) -> f32 {
  let r = rowAt[n];
  if (j < r.y || j > r.z) { return 0.0; }
  return ds[r.x + j];
}
${denseBackEntry(true, c.tileMajor === true)}
${c.prefetch ? prefetchBody(c) : plainBody(c)}
}`;
}

/**
 * A tile's derived sizes: DP4 vec4 of padded head dims, GS threads a row group, dS vectors of V rows
 * (type vt), BV of them a key, M the XOR swizzle's mask.
 */
function sizes(c: DqFromDsTile) {
  const DP4 = paddedDV3(c.D) / 4;
  const V = Math.min(c.NR, 4);
  const BV = c.BR / V;
  return { DP4, GS: DP4 / c.G, V, BV, M: Math.min(BV, 8) - 1, vt: V === 1 ? 'f32' : `vec${V}<f32>` };
}

/** A workgroup's rows r0 .. rEnd, the keys they see (klo .. kEnd), the thread's row group pa and column pc. */
const rowTile = (BR: number, GS: number) => `  let nrows = (segEnd - s0) * u.ratio;
  let r0 = tile * ${BR}u;
  if (r0 >= nrows) { return; }
  let rEnd = min(r0 + ${BR}u, nrows);
  let klo = keyLo(s0 + r0 / u.ratio, s0);
  let kEnd = keyHi(s0 + (rEnd - 1u) / u.ratio, s0) + 1u;
  let pa = lid / ${GS}u; let pc = lid % ${GS}u;`;

/** The kernel after its entry: rows' places in workgroup memory, loads right before each barrier. */
function plainBody(c: DqFromDsTile): string {
  const { BR, KT, NR, G, D } = c;
  const { DP4, GS, V, BV, M, vt } = sizes(c);
  // element m of a dS vector: row nb·V + m of the tile at key kk (0 where not seen or past the rows)
  const dsEl = (m: number) => `dsOf(nb * ${V}u + ${m}u, j0 + kk)`;
  return `${rowTile(BR, GS)}
  for (var n = lid; n < ${BR}u; n += ${DENSE_BACK_WG}u) {
    let row = r0 + n; let t = s0 + row / u.ratio;
    rowAt[n] = select(vec3<u32>(0u, 1u, 0u), vec3<u32>(dsAt(s0, g, row, t, 0u), keyLo(t, s0), keyHi(t, s0)), row < rEnd);
  }
${range(NR)
  .flatMap((i) => range(G).map((q) => `  var acc${i}_${q} = vec4<f32>(0.0);`))
  .join('\n')}
  for (var j0 = klo; j0 < kEnd; j0 += ${KT}u) {
    workgroupBarrier();
    for (var e = lid; e < ${KT * BV}u; e += ${DENSE_BACK_WG}u) {
      let kk = e % ${KT}u; let nb = e / ${KT}u;
      dsT[kk * ${BV}u + (nb ^ (kk & ${M}u))] = ${V === 1 ? dsEl(0) : `${vt}(${range(V).map(dsEl).join(', ')})`};
    }
    for (var e = lid; e < ${KT * DP4}u; e += ${DENSE_BACK_WG}u) {
      let kk = e / ${DP4}u; let cc = e % ${DP4}u; let j = j0 + kk;
      let a = (j * u.hk + g) * ${D}u + 4u * cc;
      ks[e] = vec4<f32>(${range(4)
        .map((m) => `select(0.0, k[min(a + ${m}u, u.nk - 1u)], j < kEnd && 4u * cc + ${m}u < ${D}u)`)
        .join(', ')});
    }
    workgroupBarrier();
${multiplyAndStore(c)}`;
}

/** The multiply of a staged key tile and, after the last, dq's stores. */
function multiplyAndStore(c: DqFromDsTile): string {
  const { KT, NR, G, D } = c;
  const { DP4, GS, V, BV, M } = sizes(c);
  const comp = (v: string, m: number) => (V === 1 ? v : `${v}.${COMP[m]}`);
  return `    for (var kk = 0u; kk < ${KT}u; kk++) {
${range(NR / V)
  .map((b) => `      let w${b} = dsT[kk * ${BV}u + ((${NR / V}u * pa + ${b}u) ^ (kk & ${M}u))];`)
  .join('\n')}
${range(G)
  .map((q) => `      let y${q} = ks[kk * ${DP4}u + pc + ${GS * q}u];`)
  .join('\n')}
${range(NR)
  .flatMap((i) => range(G).map((q) => `      acc${i}_${q} += ${comp(`w${Math.floor(i / V)}`, i % V)} * y${q};`))
  .join('\n')}
    }
  }
${range(NR)
  .map((i) => `  let ok${i} = r0 + ${NR}u * pa + ${i}u < rEnd; let o${i} = qIndex(s0, g, r0 + ${NR}u * pa + ${i}u) * ${D}u;`)
  .join('\n')}
${range(G)
  .flatMap((q) =>
    range(4).flatMap((m) =>
      range(NR).map((i) => `  { let d = 4u * (pc + ${GS * q}u) + ${m}u; if (ok${i} && d < ${D}u) { dq[o${i} + d] = acc${i}_${q}.${COMP[m]}; } }`),
    ),
  )
  .join('\n')}`;
}

/**
 * The prefetching body: thread lid stages dS elements e = lid + 256·i (key kk = e mod KT, row vector
 * nb = e / KT: the same rows every tile, their band places and key ranges in registers) and k vec4
 * e = lid + 256·i; tile j0 + KT's are loaded after the barrier that publishes tile j0's.
 */
function prefetchBody(c: DqFromDsTile): string {
  const { BR, KT, NR, G, D } = c;
  const { DP4, GS, V, BV, M, vt } = sizes(c);
  const ID = range(Math.ceil((KT * BV) / DENSE_BACK_WG));
  const fullD = (KT * BV) % DENSE_BACK_WG === 0;
  const IK = range(Math.ceil((KT * DP4) / DENSE_BACK_WG));
  const fullK = (KT * DP4) % DENSE_BACK_WG === 0;
  const dsEl = (i: number, m: number, j0: string) =>
    `select(0.0, ds[rx${i}_${m} + min(max(${j0} + kk${i}, ry${i}_${m}), rz${i}_${m})], (${j0} + kk${i} >= ry${i}_${m}) & (${j0} + kk${i} <= rz${i}_${m}))`;
  const load = (j0: string) =>
    [
      ...ID.map((i) => `      xd${i} = ${V === 1 ? dsEl(i, 0, j0) : `${vt}(${range(V).map((m) => dsEl(i, m, j0)).join(', ')})`};`),
      ...IK.map(
        (i) => `      { let e = lid + ${DENSE_BACK_WG * i}u; let kk = e / ${DP4}u; let cc = e % ${DP4}u; let j = ${j0} + kk;
        let a = (j * u.hk + g) * ${D}u + 4u * cc;
        xk${i} = vec4<f32>(${range(4)
          .map((m) => `select(0.0, k[min(a + ${m}u, u.nk - 1u)], (j < kEnd) & (4u * cc + ${m}u < ${D}u))`)
          .join(', ')}); }`,
      ),
    ].join('\n');
  return `${rowTile(BR, GS)}
  // this thread's staged dS rows: band place of key 0 (x), first (y) and last (z) key seen, none past the rows
${ID.map(
  (i) => `  let kk${i} = (lid + ${DENSE_BACK_WG * i}u) % ${KT}u; let nb${i} = (lid + ${DENSE_BACK_WG * i}u) / ${KT}u;
${range(V)
  .map(
    (m) => `  var rx${i}_${m} = 0u; var ry${i}_${m} = 1u; var rz${i}_${m} = 0u;
  { let row = r0 + nb${i} * ${V}u + ${m}u; let t = s0 + row / u.ratio;
    if (row < rEnd) { rx${i}_${m} = dsAt(s0, g, row, t, 0u); ry${i}_${m} = keyLo(t, s0); rz${i}_${m} = keyHi(t, s0); } }`,
  )
  .join('\n')}`,
).join('\n')}
${range(NR)
  .flatMap((i) => range(G).map((q) => `  var acc${i}_${q} = vec4<f32>(0.0);`))
  .join('\n')}
${ID.map((i) => `  var xd${i} = ${vt}(0.0);`).join('\n')}
${IK.map((i) => `  var xk${i} = vec4<f32>(0.0);`).join('\n')}
  if (klo < kEnd) {
${load('klo')}
  }
  for (var j0 = klo; j0 < kEnd; j0 += ${KT}u) {
    workgroupBarrier();
${ID.map((i) => {
  const st = `dsT[kk${i} * ${BV}u + (nb${i} ^ (kk${i} & ${M}u))] = xd${i};`;
  return fullD || i < ID.length - 1 ? `    ${st}` : `    if (lid + ${DENSE_BACK_WG * i}u < ${KT * BV}u) { ${st} }`;
}).join('\n')}
${IK.map((i) => (fullK || i < IK.length - 1 ? `    ks[lid + ${DENSE_BACK_WG * i}u] = xk${i};` : `    if (lid + ${DENSE_BACK_WG * i}u < ${KT * DP4}u) { ks[lid + ${DENSE_BACK_WG * i}u] = xk${i}; }`)).join('\n')}
    workgroupBarrier();
    if (j0 + ${KT}u < kEnd) {
${load(`j0 + ${KT}u`)}
    }
${multiplyAndStore(c)}`;
}

