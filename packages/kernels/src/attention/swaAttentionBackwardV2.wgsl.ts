/**
 * WGSL for the dense-attention backward v2 (modes 'window' and 'block'): the math and the row
 * enumeration of v1 (swaAttentionBackward.wgsl.ts: rows of KV head g token-major, row i → token
 * s0 + i / ratio, head g·ratio + i mod ratio), register-blocked in the spirit of the forward's v2 / v3.
 *   dq:  a workgroup owns BR query rows (q, dout in workgroup memory) and streams KT-key tiles (k, v).
 *   dkv: a workgroup owns KT keys (k, v in workgroup memory) and streams the BR-row tiles of the
 *        queries that see them, in order (deterministic, no atomics).
 * Per tile, the 256 threads split in two halves of 128 that run the same code on different operands:
 *   1. half 0: S = Q·Kᵀ, half 1: dP = dO·Vᵀ, each thread an R × C block (R rows × C keys) in registers,
 *      the inner loop over head dims four at a time (one vec4 per row and per key);
 *   2. half 0 stores P = exp(S·scale − lse) (0 where the key is not visible), barrier, half 1 turns it
 *      into dS = P·(dP − delta)·scale in its own slots (dkv keeps P beside dS);
 *   3. dq: all threads dQ += dS·K, an N rows × 4G dims block each; dkv: half 0 dV += Pᵀ·dO, half 1
 *      dK += dSᵀ·Q, an N keys × 4G dims block each, so every read of the inner loop is a vec4 of
 *      workgroup memory plus one vecN of P / dS per 4·N·G multiply-adds.
 * Head size padded to Dp = 16, 32, 64, 128 in workgroup memory (the score loop stops at ⌈D/4⌉).
 * Workgroup memory, vec4 of head dims: xs [2][BR][Dp/4] (q, dout), ys [2][KT][Dp/4] (k, v), each row's
 * vec4 index XOR its block number (mod 8) so the 8 threads of a quarter warp read distinct banks; P / dS:
 * dq ps [KT][BR/N] vecN (rows XOR 2·(key block)), dkv pd [2][BR][KT/N] vecN (P, then dS). Every thread
 * writes whole vectors of workgroup memory (no per-component stores shared between threads).
 */
import { paddedDV3 } from './denseAttentionV3.wgsl.js';
import { DENSE_BACK_ENTRY, DENSE_BACK_WG, dkvKeyTile, keyRangeFnsWgsl, Q_INDEX_WGSL } from './swaAttentionBackward.wgsl.js';
import { range } from '../core/codegen.js';

export interface DenseBackTileV2 {
  which: 'dq' | 'dkv';
  /** query rows of a row tile (dq: the workgroup's own; dkv: streamed) */
  BR: number;
  /** keys of a key tile (dq: streamed; dkv: the workgroup's own) */
  KT: number;
  /** S / dP block of a thread: R rows × C keys, (BR/R)·(KT/C) = 128 */
  R: number;
  C: number;
  /** dq / dk / dv block of a thread: N rows (dq) or keys (dkv; N = C) × G vec4 groups of head dims */
  N: number;
  G: number;
  /** head size (compiled in) */
  D: number;
  mode: 'window' | 'block';
  /**
   * dkv only (the backward's v3): also store each visible dS in the score-gradient band `ds`
   * (denseDsBand), and read lse and delta from one binding `ld` ([lse | delta], 8 storage buffers)
   */
  ds?: boolean;
}

/** A v2 tile: [BR, KT, R, C, N, G] (DenseBackTileV2's fields). */
export type DenseBackShapeV2 = [BR: number, KT: number, R: number, C: number, N: number, G: number];
type Shape = DenseBackShapeV2;

/** Tile shapes by padded head size; workgroup memory 14–28 KiB. */
const SHAPES: Record<DenseBackTileV2['which'], Record<number, Shape>> = {
  dq: { 16: [64, 16, 4, 2, 1, 1], 32: [64, 16, 4, 2, 2, 1], 64: [32, 16, 2, 2, 2, 1], 128: [16, 8, 1, 1, 1, 2] },
  dkv: { 16: [32, 32, 8, 1, 1, 1], 32: [32, 32, 4, 2, 2, 1], 64: [16, 32, 2, 2, 2, 2], 128: [8, 16, 1, 1, 1, 4] },
};

/**
 * Tiles for devices that grant more than 32 KiB of workgroup memory (the H200: 48), by padded head
 * size, from bench/attention-backward (H200, T 4096, causal): D 64 (8 heads): S / dP blocks of 2 rows ×
 * 4 keys, dkv's blocks 4 keys wide: dq 2.10 ms against the table's 2.49, dkv 2.03 against 2.69; D 128
 * (32 : 2 heads): twice the rows (dq) or keys (dkv) of the table's tiles: dq 21.4 against 28.9 ms,
 * dkv 26.5 against 36.9.
 */
const SHAPES_LARGE: Record<DenseBackTileV2['which'], Record<number, Shape>> = {
  dq: { 64: [32, 32, 2, 4, 2, 1], 128: [32, 8, 2, 1, 1, 4] },
  dkv: { 64: [32, 32, 2, 4, 4, 1], 128: [8, 32, 1, 2, 2, 4] },
};

/** The large-memory tile of a head size where there is one (SHAPES_LARGE). */
export function denseBackShapeV2Large(which: DenseBackTileV2['which'], d: number): Shape | undefined {
  return d <= 128 ? SHAPES_LARGE[which][paddedDV3(d)] : undefined;
}

/** The v2 tile of a head size (D ≤ 128; `shape` instead of the table's), or null above. */
export function denseBackShapeV2(which: DenseBackTileV2['which'], d: number, mode: DenseBackTileV2['mode'], shape?: Shape): DenseBackTileV2 | null {
  if (d > 128) return null;
  const [BR, KT, R, C, N, G] = shape ?? SHAPES[which][paddedDV3(d)];
  return { which, BR, KT, R, C, N, G, D: d, mode };
}

/**
 * Why a v2 tile cannot be generated, or null: the S / dP blocks cover the tile with 128 threads a
 * half; dq's N × 4G blocks the BR rows with 256 threads (N ≤ 2, so P / dS vectors stay whole), dkv's
 * the KT keys with 128 (N = C); sizes powers of two (the bank XORs).
 */
export function denseBackShapeV2Invalid(c: DenseBackTileV2): string | null {
  const DP4 = paddedDV3(c.D) / 4;
  const pow2 = (x: number) => Number.isInteger(x) && x >= 1 && (x & (x - 1)) === 0;
  if (![c.BR, c.KT, c.R, c.C, c.N, c.G].every(pow2)) return 'sizes must be powers of two';
  if ((c.BR / c.R) * (c.KT / c.C) !== 128 || c.R > c.BR || c.C > c.KT) return 'S blocks must cover the tile with 128 threads';
  if (c.G > DP4) return `G over ${DP4} vec4 groups`;
  const GS = DP4 / c.G;
  if (c.which === 'dq') {
    if (c.N > 2 || c.R % c.N !== 0 || c.N * (256 / GS) !== c.BR) return 'dq blocks: N ≤ 2 dividing R, N·256/(Dp/4G) = BR';
  } else if (c.N !== c.C || c.N * (128 / GS) !== c.KT) return 'dkv blocks: N = C, N·128/(Dp/4G) = KT';
  return null;
}

/** Workgroup memory of a v2 tile, in f32 words. */
export const denseBackV2Words = (c: DenseBackTileV2): number =>
  2 * (c.BR + c.KT) * paddedDV3(c.D) + (c.which === 'dkv' ? 2 : 1) * c.BR * c.KT;

const each = <T>(a: number, b: number, f: (i: number, j: number) => T): T[] => range(a).flatMap((i) => range(b).map((j) => f(i, j)));
const COMP = ['x', 'y', 'z', 'w'];
const vecType = (n: number) => (n === 1 ? 'f32' : `vec${n}<f32>`);
/** Component i of a vecN value (the value itself for N = 1). */
const comp = (v: string, n: number, i: number) => (n === 1 ? v : `${v}.${COMP[i]}`);
/** A vecN built from n scalar expressions. */
const vecOf = (xs: string[]) => (xs.length === 1 ? `(${xs[0]})` : `vec${xs.length}<f32>(${xs.join(', ')})`);

/** Declarations and the tile loads. */
function common(c: DenseBackTileV2): string {
  const { BR, KT, R, C, N, D } = c;
  const DP4 = paddedDV3(D) / 4;
  const M = Math.min(DP4, 8) - 1;
  const pWords = c.which === 'dkv' ? 2 * BR * KT : BR * KT;
  // elements 4c + m of a row at a (rows clamped to the buffer, masked by ok and d < D)
  const row4 = (buf: string, n: string, ok: string) =>
    `vec4<f32>(${range(4)
      .map((m) => `select(0.0, ${buf}[min(a + ${m}u, ${n} - 1u)], ${ok} && 4u * c + ${m}u < ${D}u)`)
      .join(', ')})`;
  return /* wgsl */ `
var<workgroup> xs: array<vec4<f32>, ${2 * BR * DP4}>;
var<workgroup> ys: array<vec4<f32>, ${2 * KT * DP4}>;
var<workgroup> ps: array<${vecType(N)}, ${pWords / N}>;
${keyRangeFnsWgsl(c.mode)}
// vec4 group c of row n of a tile read in blocks of G rows (XOR the block number: distinct banks)
fn slot(n: u32, c: u32, G: u32) -> u32 { return n * ${DP4}u + (c ^ ((n / G) & ${M}u)); }
${Q_INDEX_WGSL}
// query rows r0 .. rEnd − 1 → xs (q, then dout); zero past rEnd and past D
fn loadRows(lid: u32, r0: u32, rEnd: u32, s0: u32, g: u32) {
  for (var e = lid; e < ${BR * DP4}u; e += ${DENSE_BACK_WG}u) {
    let n = e / ${DP4}u; let c = e % ${DP4}u; let row = r0 + n; let ok = row < rEnd;
    let a = qIndex(s0, g, row) * ${D}u + 4u * c;
    let s = slot(n, c, ${R}u);
    xs[s] = ${row4('q', 'u.nq', 'ok')};
    xs[${BR * DP4}u + s] = ${row4('dout', 'u.nq', 'ok')};
  }
}
// keys j0 .. jEnd − 1 of KV head g → ys (k, then v)
fn loadKeys(lid: u32, j0: u32, jEnd: u32, g: u32) {
  for (var e = lid; e < ${KT * DP4}u; e += ${DENSE_BACK_WG}u) {
    let n = e / ${DP4}u; let c = e % ${DP4}u; let j = j0 + n; let ok = j < jEnd;
    let a = (j * u.hk + g) * ${D}u + 4u * c;
    let s = slot(n, c, ${C}u);
    ys[s] = ${row4('k', 'u.nk', 'ok')};
    ys[${KT * DP4}u + s] = ${row4('v', 'u.nk', 'ok')};
  }
}`;
}

/**
 * Phase 1 for the rows r0 + R·tr + i (valid below rEnd) and keys j0 + C·tc + j: the thread's block
 * s_i_j of S (half 0) or dP (half 1), its rows' key ranges and lse (half 0) or delta (half 1).
 */
function scores(c: DenseBackTileV2, rEnd: string): string {
  const { BR, KT, R, C, D } = c;
  const DP4 = paddedDV3(D) / 4;
  const M = Math.min(DP4, 8) - 1;
  return `${each(R, C, (i, j) => `    var s${i}_${j} = 0.0;`).join('\n')}
    {
      let xb = hf * ${BR * DP4}u + ${R}u * tr * ${DP4}u; let xw = tr & ${M}u;
      let yb = hf * ${KT * DP4}u + ${C}u * tc * ${DP4}u; let yw = tc & ${M}u;
      for (var c = 0u; c < ${Math.ceil(D / 4)}u; c++) {
${range(R)
  .map((i) => `        let x${i} = xs[xb + ${i * DP4}u + (c ^ xw)];`)
  .join('\n')}
${range(C)
  .map((j) => `        let y${j} = ys[yb + ${j * DP4}u + (c ^ yw)];`)
  .join('\n')}
${each(R, C, (i, j) => `        s${i}_${j} += dot(x${i}, y${j});`).join('\n')}
      }
    }
${range(R)
  .map(
    (i) => `    let row${i} = r0 + ${R}u * tr + ${i}u; let ok${i} = row${i} < ${rEnd};
    let t${i} = s0 + row${i} / u.ratio; let lo${i} = keyLo(t${i}, s0); let hi${i} = keyHi(t${i}, s0);
    let ra${i} = min(qIndex(s0, g, row${i}), u.nq / ${D}u - 1u);
    let l${i} = select(0.0, select(${c.ds ? `ld[u.nq / ${D}u + ra${i}]` : `delta[ra${i}]`}, ${c.ds ? 'ld' : 'lse'}[ra${i}], hf == 0u), ok${i});`,
  )
  .join('\n')}
${range(C)
  .map((j) => `    let key${j} = j0 + ${C}u * tc + ${j}u;`)
  .join('\n')}`;
}

/** P = exp(S·scale − lse) of block (i, j), 0 where key j is not visible from row i. */
const prob = (i: number, j: number, jLim: string) =>
  `select(0.0, exp(s${i}_${j} * u.scale - l${i}), ok${i} && key${j} < ${jLim} && key${j} >= lo${i} && key${j} <= hi${i})`;

/**
 * Phase 2: half 0 stores P at slot(i, j), barrier, half 1 rewrites it as dS = P·(dP − delta)·scale at
 * dst(i, j); both slot lists name whole vectors: [slot expression, the block entries (i, j) in it].
 */
function probsToGrads(slots: [string, [number, number][]][], dst: (s: string) => string, jLim: string): string {
  const half0 = slots.map(([s, ij]) => `      ps[${s}] = ${vecOf(ij.map(([i, j]) => prob(i, j, jLim)))};`);
  const half1 = slots.map(
    ([s, ij]) => `      ps[${dst(s)}] = ps[${s}] * (${vecOf(ij.map(([i, j]) => `s${i}_${j}`))} - ${vecOf(ij.map(([i]) => `l${i}`))}) * u.scale;`,
  );
  return `    if (hf == 0u) {
${half0.join('\n')}
    }
    workgroupBarrier();
    if (hf == 1u) {
${half1.join('\n')}
    }
    workgroupBarrier();`;
}

/** Accumulator declarations acc_i_q (vec4) of an N × G block. */
const accDecl = (N: number, G: number) => each(N, G, (i, q) => `  var acc${i}_${q} = vec4<f32>(0.0);`).join('\n');

/** Stores of acc_i_q.m to head dim 4·(pc + GS·q) + m < D of `target(i)` (an offset expression). */
function storeBlock(c: DenseBackTileV2, GS: number, put: (i: number, q: number, m: number) => string): string {
  return each(c.G, 4, (q, m) => {
    const d = `4u * (pc + ${GS * q}u) + ${m}u`;
    return range(c.N)
      .map((i) => `  { let d = ${d}; if (ok${i} && d < ${c.D}u) { ${put(i, q, m)} } }`)
      .join('\n');
  }).join('\n');
}

/** dq: `header` declares `u` and q, k, v, dout, lse, delta, dq (the uniforms of swaAttentionBackward.ts). */
export function denseDqV2Wgsl(c: DenseBackTileV2, header: string): string {
  const { BR, KT, R, C, N, G, D } = c;
  const DP4 = paddedDV3(D) / 4;
  const M = Math.min(DP4, 8) - 1;
  const GS = DP4 / G;
  // ps [KT][BR/N]: key m's rows XOR f = 2·(m / C) mod BR (f even, N ≤ 2: vectors stay whole)
  const slots = each(C, R / N, (j, b): [string, [number, number][]] => [
    `((${C}u * tc + ${j}u) * ${BR}u + ((${R}u * tr + ${N * b}u) ^ pf)) / ${N}u`,
    range(N).map((n) => [N * b + n, j]),
  ]);
  return /* wgsl */ `
${header}
${common(c)}
${DENSE_BACK_ENTRY}
  let nrows = (segEnd - s0) * u.ratio;
  let r0 = tile * ${BR}u;
  if (r0 >= nrows) { return; }
  let rEnd = min(r0 + ${BR}u, nrows);
  let hf = lid / 128u; let hl = lid % 128u;
  let tr = hl / ${KT / C}u; let tc = hl % ${KT / C}u;
  let pf = (2u * tc) & ${BR - 1}u;
  let pa = lid / ${GS}u; let pc = lid % ${GS}u;
  loadRows(lid, r0, rEnd, s0, g);
  let klo = keyLo(s0 + r0 / u.ratio, s0);
  let kEnd = keyHi(s0 + (rEnd - 1u) / u.ratio, s0) + 1u;
${accDecl(N, G)}
  for (var j0 = klo; j0 < kEnd; j0 += ${KT}u) {
    workgroupBarrier();
    loadKeys(lid, j0, kEnd, g);
    workgroupBarrier();
${scores(c, 'rEnd')}
${probsToGrads(slots, (s) => s, 'kEnd')}
    for (var kk = 0u; kk < ${KT}u; kk++) {
      let kb = kk / ${C}u;
      let w = ps[(kk * ${BR}u + ((${N}u * pa) ^ ((2u * kb) & ${BR - 1}u))) / ${N}u];
${range(G)
  .map((q) => `      let y${q} = ys[kk * ${DP4}u + ((pc + ${GS * q}u) ^ (kb & ${M}u))];`)
  .join('\n')}
${each(N, G, (i, q) => `      acc${i}_${q} += ${comp('w', N, i)} * y${q};`).join('\n')}
    }
  }
${range(N)
  .map((i) => `  let ok${i} = r0 + ${N}u * pa + ${i}u < rEnd; let o${i} = qIndex(s0, g, r0 + ${N}u * pa + ${i}u) * ${D}u;`)
  .join('\n')}
${storeBlock(c, GS, (i, q, m) => `dq[o${i} + d] = acc${i}_${q}.${COMP[m]};`)}
}`;
}

/**
 * v3: the tile's dS (in ps after phase 2) to the band: 256 / BR threads a row, each E consecutive keys
 * (a row's KT keys are one stretch of memory; the row's place in the band and its key range computed
 * once a thread), only the entries the row sees (the others may lie outside its band).
 */
function storeDs(c: DenseBackTileV2): string {
  const { BR, KT, N } = c;
  const KTN = KT / N;
  const E = Math.max(1, (BR * KT) / DENSE_BACK_WG);
  const TPR = KT / E;
  const el = (m: number) => {
    const kk = `kk + ${m}u`;
    return N === 1 ? `ps[${BR * KTN}u + n * ${KTN}u + ${kk}]` : `ps[${BR * KTN}u + n * ${KTN}u + (${kk}) / ${N}u][(${kk}) % ${N}u]`;
  };
  return `
    {
      let n = lid / ${TPR}u; let kk = ${E}u * (lid % ${TPR}u); let row = r0 + n;
      let t = s0 + row / u.ratio; let lo = keyLo(t, s0); let hi = min(keyHi(t, s0), jEnd - 1u);
      let at = dsAt(s0, g, row, t, 0u);
      if (n < ${BR}u && row < rhi) {
${range(E)
  .map((m) => `        { let key = j0 + kk + ${m}u; if (key >= lo && key <= hi) { ds[at + key] = ${el(m)}; } }`)
  .join('\n')}
      }
    }`;
}

/**
 * dsAt(s0, g, row, t, key): the index in the score-gradient band of query row `row` of KV head g in
 * the segment at s0 (token t) and key `key` (denseDsBand: u.band columns a row).
 */
export function dsAtWgsl(mode: DenseBackTileV2['mode']): string {
  const col = mode === 'window' ? 'key + u.band - 1u - t' : 'key - s0';
  return `fn dsAt(s0: u32, g: u32, row: u32, t: u32, key: u32) -> u32 {
  return (((s0 / u.segLen) * u.hk + g) * u.segLen * u.ratio + row) * u.band + ${col};
}`;
}

/** dk, dv (and with c.ds the band ds): `header` declares `u` and q, k, v, dout, lse, delta (ld), dk, dv (, ds). */
export function denseDkvV2Wgsl(c: DenseBackTileV2, header: string): string {
  const { BR, KT, R, C, N, G, D } = c;
  const DP4 = paddedDV3(D) / 4;
  const M = Math.min(DP4, 8) - 1;
  const GS = DP4 / G;
  const KTN = KT / N;
  // ps [2][BR][KT/N] (P, then dS): row i's keys C·tc .. C·tc + C − 1 are one vector (N = C)
  const slots = range(R).map((i): [string, [number, number][]] => [`(${R}u * tr + ${i}u) * ${KTN}u + tc`, range(C).map((j) => [i, j])]);
  const { wgsl: keyTile, tLo, tHi } = dkvKeyTile(c.mode, KT);
  return /* wgsl */ `
${header}
${common(c)}
${c.ds ? dsAtWgsl(c.mode) : ''}
${DENSE_BACK_ENTRY}
${keyTile}
  let hf = lid / 128u; let hl = lid % 128u;
  let tr = hl / ${KT / C}u; let tc = hl % ${KT / C}u;
  let pa = hl / ${GS}u; let pc = hl % ${GS}u;
  loadKeys(lid, j0, jEnd, g);
  // the queries that see these keys: tokens ${tLo} .. ${tHi}
  let rlo = (${tLo} - s0) * u.ratio;
  let rhi = (${tHi} - s0 + 1u) * u.ratio;
${accDecl(N, G)}
  // phase 3 reads P with dout (half 0 → dv) or dS with q (half 1 → dk)
  let pOff = hf * ${BR * KTN}u; let xOff = (1u - hf) * ${BR * DP4}u;
  for (var r0 = rlo; r0 < rhi; r0 += ${BR}u) {
    workgroupBarrier();
    loadRows(lid, r0, rhi, s0, g);
    workgroupBarrier();
${scores(c, 'rhi')}
${probsToGrads(slots, (s) => `${BR * KTN}u + ${s}`, 'jEnd')}${c.ds ? storeDs(c) : ''}
    for (var r = 0u; r < ${BR}u; r++) {
      let w = ps[pOff + r * ${KTN}u + pa];
      let xw = (r / ${R}u) & ${M}u;
${range(G)
  .map((q) => `      let x${q} = xs[xOff + r * ${DP4}u + ((pc + ${GS * q}u) ^ xw)];`)
  .join('\n')}
${each(N, G, (i, q) => `      acc${i}_${q} += ${comp('w', N, i)} * x${q};`).join('\n')}
    }
  }
${range(N)
  .map((i) => `  let ok${i} = j0 + ${N}u * pa + ${i}u < jEnd; let o${i} = ((j0 + ${N}u * pa + ${i}u) * u.hk + g) * ${D}u;`)
  .join('\n')}
${storeBlock(c, GS, (i, q, m) => `if (hf == 0u) { dv[o${i} + d] = acc${i}_${q}.${COMP[m]}; } else { dk[o${i} + d] = acc${i}_${q}.${COMP[m]}; }`)}
}`;
}
