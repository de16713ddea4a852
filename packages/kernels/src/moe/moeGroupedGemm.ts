/**
 * moeGroupedGemm: the MoE layer's grouped GEMMs over all experts in ONE dispatch (math in
 * moeGroupedGemm.ref.ts). The tile schedule is moeGroupedMatmul's: workgroup (x, y) takes column tile
 * x of row tile y, y mapped to (expert, row tile) through tileStart; tiles past the last exit.
 * v1: 64×64 tiles, 256 threads × 4×4 outputs, BK 16 through workgroup memory; A rows gathered through
 * perm ('token' / 'assign') or read in order ('sorted'); B read as [N, K] ('nk', coalesced along K)
 * or [K, N] ('kn', coalesced along N); one or two weights (two accumulators, two outputs);
 * the epilogue writes rows in sorted or assignment order and may add into the output.
 * v2: 64×128 tiles, 4 rows × 8 columns (two vec4 groups) per thread, weights staged as vec4 rows
 *   (a third fewer workgroup-memory reads per multiply-add); the forward's fused SwiGLU epilogue
 *   (`swiglu`), so this one kernel also serves the inference forward.
 * v3 (one weight: down, dact, dx): 128×128 tiles of 8×8 outputs per thread (moeTile128.wgsl.ts); the
 *   64-row schedule is kept, even tiles take two, odd ones exit.
 * v4 (two weights: gate/up, with or without the SwiGLU epilogue): v3's tile with its 128 columns
 *   paired, 64 of each weight at the same output columns, so each thread holds a gate value and its
 *   up value side by side (c{q}_0, c{q}_1); 64 output columns a workgroup (704 = 11 tiles, where v2's
 *   128 left 5.5). v2 stays as the `tile: 64` variant (bench/moe times both).
 * v5 (the 128-row tiles' default): stages of BK 4 (was 8) and each 32 threads on 4 × 8 thread tiles
 *   (the dense matmul's v3 layout). H200, E 64, k 4, d 2048, F 704, 16K tokens: gate/up 14.9 ms
 *   against v4's 17.7, down 7.25 against 7.84; BK 4 alone gave the same gate/up, the layout alone
 *   nothing (`bk`, `threads` select them); the backward's [K, N] dact and dx measured the same on
 *   both (8.43 / 7.60 ms against 8.56 / 7.62).
 */
import { wgslHalfLoad } from '../core/dtype.js';
import { type BufferBinding, type DeviceCaps, type Kernel, type WgslScalar, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type MoeGroupedGemmParams, type MoeRowMap, moeGroupedGemmRef } from './moeGroupedGemm.ref.js';
import { MOE_TILE_M } from './moeGroupedMatmul.ref.js';
import { acc128, inner128, store128, T128, threadCoords128 } from './moeTile128.wgsl.js';
import { range } from '../core/codegen.js';

const BM = MOE_TILE_M;
const BN = 128;
const BK = 16;
const U = defineUniforms({ k: 'u32', E: 'u32', N: 'u32', K: 'u32' });

function buffers(p: MoeGroupedGemmParams): BufferBinding[] {
  const w: WgslScalar = p.wDtype === 'f32' ? 'f32' : 'u32';
  return [
    { name: 'a', access: 'read', type: 'f32' },
    { name: 'perm', access: 'read', type: 'u32' },
    { name: 'offsets', access: 'read', type: 'u32' },
    { name: 'tileStart', access: 'read', type: 'u32' },
    ...range(p.nB).map((i) => ({ name: `w${i}`, access: 'read' as const, type: w })),
    ...range(p.swiglu ? 1 : p.nB).map((i) => ({ name: `out${i}`, access: 'read_write' as const, type: 'f32' as const })),
  ];
}

/** WGSL expression of the source row of sorted row `r`. */
export function wgslMoeRow(map: MoeRowMap, r: string): string {
  if (map === 'sorted') return r;
  return map === 'assign' ? `perm[${r}]` : `(perm[${r}] / u.k)`;
}

function readers(p: MoeGroupedGemmParams): string {
  return range(p.nB)
    .map((i) => (p.wDtype === 'f32' ? `fn read_w${i}(i: u32) -> f32 { return w${i}[i]; }` : wgslHalfLoad(`read_w${i}`, `w${i}`, p.wDtype)))
    .join('\n');
}

/** Loads the BK-slice of the A rows (scalar, k-major) and of each weight tile (k-major, vec4 rows). */
function loads(p: MoeGroupedGemmParams): string {
  const a = range((BM * BK) / 256).map(
    (i) => `    { let el = lid + ${i * 256}u; let rr = el / ${BK}u; let kk = el % ${BK}u;
      let src = rowSrc[rr];
      var av = 0.0;
      if (src != 0xffffffffu && k0 + kk < u.K) { av = a[src + k0 + kk]; }
      As[kk * ${BM}u + rr] = av; }`,
  );
  const b = range((BN * BK) / 256).map((i) => {
    const [nn, kk] = p.bLayout === 'nk' ? [`el / ${BK}u`, `el % ${BK}u`] : [`el % ${BN}u`, `el / ${BN}u`];
    const addr = p.bLayout === 'nk' ? 'wbase + (n0 + nn) * u.K + k0 + kk' : 'wbase + (k0 + kk) * u.N + n0 + nn';
    const st = range(p.nB).map((j) => `B${j}[s >> 2u][s & 3u] = select(0.0, read_w${j}(${addr}), ok);`);
    return `    { let el = lid + ${i * 256}u; let nn = ${nn}; let kk = ${kk}; let s = kk * ${BN}u + nn;
      let ok = n0 + nn < u.N && k0 + kk < u.K;
      ${st.join(' ')} }`;
  });
  return [...a, ...b].join('\n');
}

/** One K slice: 4 rows (tr + 16i) × 2 vec4 column groups (64h + 4tc) per weight. */
function inner(nb: number): string {
  const lines = [`    for (var kk = 0u; kk < ${BK}u; kk++) {`];
  for (let i = 0; i < 4; i++) lines.push(`      let a${i} = vec4<f32>(As[kk * ${BM}u + tr + ${16 * i}u]);`);
  for (let b = 0; b < nb; b++) for (let h = 0; h < 2; h++) lines.push(`      let b${b}_${h} = B${b}[kk * ${BN / 4}u + ${16 * h}u + tc];`);
  for (let b = 0; b < nb; b++) {
    for (let i = 0; i < 4; i++) for (let h = 0; h < 2; h++) lines.push(`      c${b}_${i}_${h} = fma(a${i}, b${b}_${h}, c${b}_${i}_${h});`);
  }
  lines.push('    }');
  return lines.join('\n');
}

function epilogue(p: MoeGroupedGemmParams): string {
  const lines: string[] = [];
  const outs = p.swiglu ? 1 : p.nB;
  for (let i = 0; i < 4; i++) {
    lines.push(`  { let r = row0 + tr + ${16 * i}u; if (r < rowEnd) {`);
    lines.push(`    let ob = ${p.outRow === 'sorted' ? 'r' : 'perm[r]'} * u.N;`);
    for (let h = 0; h < 2; h++) {
      const v = range(outs).map((b) => {
        const c = p.swiglu ? `c0_${i}_${h} / (vec4<f32>(1.0) + exp(-c0_${i}_${h})) * c1_${i}_${h}` : `c${b}_${i}_${h}`;
        return `let v${b} = ${c};`;
      });
      const st = range(outs).map((b) => `out${b}[ob + n + j] = ${p.accumulate ? `out${b}[ob + n + j] + v${b}[j]` : `v${b}[j]`};`);
      lines.push(`    { let n = n0 + ${64 * h}u + tc * 4u; ${v.join(' ')}
      for (var j = 0u; j < 4u; j++) { if (n + j < u.N) { ${st.join(' ')} } } }`);
    }
    lines.push('  } }');
  }
  return lines.join('\n');
}

/** The shared prologue: tile y → expert e (binary search over tileStart), row range, weight base. */
export const MOE_TILE_PROLOGUE = `
  if (lid == 0u) { total = tileStart[u.E]; }
  if (wid.y >= workgroupUniformLoad(&total)) { return; }
  var lo = 0u; var hi = u.E;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (tileStart[mid] <= wid.y) { lo = mid; } else { hi = mid - 1u; }
  }
  let e = lo;
  let row0 = offsets[e] + (wid.y - tileStart[e]) * ${BM}u;
  let rowEnd = offsets[e + 1u];`;

function gemmWgsl(p: MoeGroupedGemmParams): string {
  const accs = range(p.nB).flatMap((b) => range(8).map((q) => `  var c${b}_${q >> 1}_${q & 1} = vec4<f32>(0.0);`));
  return /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(buffers(p), 'U')}
${readers(p)}
var<workgroup> As: array<f32, ${BM * BK}>;
${range(p.nB)
  .map((b) => `var<workgroup> B${b}: array<vec4<f32>, ${(BN * BK) / 4}>;`)
  .join('\n')}
var<workgroup> rowSrc: array<u32, ${BM}>;
var<workgroup> total: u32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
${MOE_TILE_PROLOGUE}
  let n0 = wid.x * ${BN}u;
  let wbase = e * u.N * u.K;
  if (lid < ${BM}u) {
    let r = row0 + lid;
    rowSrc[lid] = select(0xffffffffu, ${wgslMoeRow(p.aSrc, 'r')} * u.K, r < rowEnd);
  }
  let tr = lid / 16u;
  let tc = lid % 16u;
${accs.join('\n')}
  for (var k0 = 0u; k0 < u.K; k0 += ${BK}u) {
    workgroupBarrier();
${loads(p)}
    workgroupBarrier();
${inner(p.nB)}
  }
${epilogue(p)}
}`;
}

/** 128×128 tiles (one weight): A rows and weight columns as vec4 rows, moeTile128.wgsl.ts. */
/** The 128-row tile's stage depth and thread layout: v5's (BK 4, warps) unless the call asks. */
const bkOf = (p: MoeGroupedGemmParams) => p.bk ?? 4;
const warpsOf = (p: MoeGroupedGemmParams) => (p.threads ?? 'warps') === 'warps';

function loads128(p: MoeGroupedGemmParams): string {
  const bk = bkOf(p);
  const n = (T128 * bk) / 256;
  const a = range(n).map(
    (i) => `    { let el = lid + ${i * 256}u; let rr = el / ${bk}u; let kk = el % ${bk}u;
      let src = rowSrc[rr];
      var v = 0.0;
      if (src != 0xffffffffu && k0 + kk < u.K) { v = a[src + k0 + kk]; }
      let s = kk * ${T128}u + rr; Xs[s >> 2u][s & 3u] = v; }`,
  );
  const [nn, kk] = p.bLayout === 'nk' ? [`el / ${bk}u`, `el % ${bk}u`] : [`el % ${T128}u`, `el / ${T128}u`];
  // one weight: column n0 + nn; two (paired): columns 0..63 of the tile from w0, 64..127 from w1, both at n0 + nn % 64
  const col = p.nB === 1 ? 'nn' : '(nn & 63u)';
  const addr = p.bLayout === 'nk' ? `wbase + (n0 + ${col}) * u.K + k0 + kk` : `wbase + (k0 + kk) * u.N + n0 + ${col}`;
  const read = p.nB === 1 ? `v = read_w0(${addr});` : `if (nn < 64u) { v = read_w0(${addr}); } else { v = read_w1(${addr}); }`;
  const b = range(n).map(
    (i) => `    { let el = lid + ${i * 256}u; let nn = ${nn}; let kk = ${kk}; let s = kk * ${T128}u + nn;
      var v = 0.0;
      if (n0 + ${col} < u.N && k0 + kk < u.K) { ${read} }
      Ys[s >> 2u][s & 3u] = v; }`,
  );
  return [...a, ...b].join('\n');
}

/** v3's epilogue (one weight: column groups h = 0, 1 at n0 + 64h) or v4's (paired: h is the weight). */
function store128Moe(p: MoeGroupedGemmParams): string {
  const ob = `let r = row0 + rl; let ob = ${p.outRow === 'sorted' ? 'r' : 'perm[r]'} * u.N;`;
  const put = (o: number, v: string) => `out${o}[ob + n + j] = ${p.accumulate ? `out${o}[ob + n + j] + ${v}` : v};`;
  if (p.nB === 1) {
    return store128('rl', (r) => `row0 + ${r} < rowEnd`, (q, h) => `    { ${ob} let n = n0 + ${64 * h}u + tc * 4u;
      for (var j = 0u; j < 4u; j++) { if (n + j < u.N) { ${put(0, `c${q}_${h}[j]`)} } } }`);
  }
  const body = (q: number) =>
    p.swiglu
      ? `let g = c${q}_0; let v0 = g / (vec4<f32>(1.0) + exp(-g)) * c${q}_1;
      for (var j = 0u; j < 4u; j++) { if (n + j < u.N) { ${put(0, 'v0[j]')} } }`
      : `for (var j = 0u; j < 4u; j++) { if (n + j < u.N) { ${put(0, `c${q}_0[j]`)} ${put(1, `c${q}_1[j]`)} } }`;
  return store128('rl', (r) => `row0 + ${r} < rowEnd`, (q, h) => (h === 0 ? `    { ${ob} let n = n0 + tc * 4u;\n      ${body(q)} }` : ''));
}

function gemm128Wgsl(p: MoeGroupedGemmParams): string {
  const st = store128Moe(p);
  const bk = bkOf(p);
  return /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(buffers(p), 'U')}
${readers(p)}
var<workgroup> Xs: array<vec4<f32>, ${(T128 * bk) / 4}>;
var<workgroup> Ys: array<vec4<f32>, ${(T128 * bk) / 4}>;
var<workgroup> rowSrc: array<u32, ${T128}>;
var<workgroup> total: u32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
${MOE_TILE_PROLOGUE}
  // the schedule counts 64-row tiles: even ones take their odd neighbour's rows too, odd ones exit
  if (((wid.y - tileStart[e]) & 1u) == 1u) { return; }
  let n0 = wid.x * ${p.nB === 1 ? T128 : T128 / 2}u;
  let wbase = e * u.N * u.K;
  if (lid < ${T128}u) {
    let r = row0 + lid;
    rowSrc[lid] = select(0xffffffffu, ${wgslMoeRow(p.aSrc, 'r')} * u.K, r < rowEnd);
  }
${threadCoords128(warpsOf(p))}
${acc128()}
  for (var k0 = 0u; k0 < u.K; k0 += ${bk}u) {
    workgroupBarrier();
${loads128(p)}
    workgroupBarrier();
${inner128(bk)}
  }
${st}
}`;
}

export const moeGroupedGemm: Kernel<MoeGroupedGemmParams> = {
  name: 'moeGroupedGemm',
  ref: moeGroupedGemmRef,
  program(p, caps: DeviceCaps) {
    const wide = p.nB === 1 || p.tile !== 64;
    const tiles = Math.ceil(p.A / BM) + p.E;
    const cols = Math.ceil(p.N / (!wide ? BN : p.nB === 1 ? T128 : T128 / 2));
    if (tiles > caps.maxWorkgroupsPerDim || cols > caps.maxWorkgroupsPerDim) {
      throw new RangeError(`moeGroupedGemm: ${tiles}×${cols} tiles exceed ${caps.maxWorkgroupsPerDim} per dimension`);
    }
    const empty = p.A === 0 || p.N === 0;
    return {
      key: `moeGroupedGemm:${p.aSrc}:${p.outRow}:${p.bLayout}:${p.nB}:${p.swiglu === true}:${p.accumulate}:${p.wDtype}:${wide}${wide ? `:${warpsOf(p) ? 'w' : 'r'}:${bkOf(p)}` : ''}`,
      code: () => (wide ? gemm128Wgsl(p) : gemmWgsl(p)),
      buffers: buffers(p),
      uniforms: U.pack({ k: p.k, E: p.E, N: p.N, K: p.K }),
      workgroups: empty ? [0, 1, 1] : [cols, tiles, 1],
    };
  },
};
