/**
 * moeGroupedGemm: the backward's grouped GEMMs over all experts in ONE dispatch (math in
 * moeGroupedGemm.ref.ts). The tile schedule is moeGroupedMatmul's: workgroup (x, y) takes column tile
 * x of row tile y, y mapped to (expert, row tile) through tileStart; tiles past the last exit.
 * v1: 64×64 tiles, 256 threads × 4×4 outputs, BK 16 through workgroup memory; A rows gathered through
 * perm ('token' / 'assign') or read in order ('sorted'); B read as [N, K] ('nk', coalesced along K)
 * or [K, N] ('kn', coalesced along N); one or two weights (two accumulators, two outputs);
 * the epilogue writes rows in sorted or assignment order and may add into the output.
 */
import { wgslHalfLoad } from '../core/dtype.js';
import { type BufferBinding, type DeviceCaps, type Kernel, type WgslScalar, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type MoeGroupedGemmParams, type MoeRowMap, moeGroupedGemmRef } from './moeGroupedGemm.ref.js';
import { MOE_TILE_M } from './moeGroupedMatmul.ref.js';

const BM = MOE_TILE_M;
const BN = 64;
const BK = 16;
const U = defineUniforms({ k: 'u32', E: 'u32', N: 'u32', K: 'u32' });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function buffers(p: MoeGroupedGemmParams): BufferBinding[] {
  const w: WgslScalar = p.wDtype === 'f32' ? 'f32' : 'u32';
  return [
    { name: 'a', access: 'read', type: 'f32' },
    { name: 'perm', access: 'read', type: 'u32' },
    { name: 'offsets', access: 'read', type: 'u32' },
    { name: 'tileStart', access: 'read', type: 'u32' },
    ...range(p.nB).map((i) => ({ name: `w${i}`, access: 'read' as const, type: w })),
    ...range(p.nB).map((i) => ({ name: `out${i}`, access: 'read_write' as const, type: 'f32' as const })),
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

/** Loads the BK-slice of the A rows and of each weight tile into workgroup memory (k-major). */
function loads(p: MoeGroupedGemmParams): string {
  return range((BM * BK) / 256)
    .map((i) => {
      const el = `lid + ${i * 256}u`;
      const wl = range(p.nB).map((j) =>
        p.bLayout === 'nk'
          ? `      B${j}[kk * ${BN}u + rr] = select(0.0, read_w${j}(wbase + (n0 + rr) * u.K + k0 + kk), n0 + rr < u.N && k0 + kk < u.K);`
          : `      B${j}[kb * ${BN}u + nb] = select(0.0, read_w${j}(wbase + (k0 + kb) * u.N + n0 + nb), n0 + nb < u.N && k0 + kb < u.K);`,
      );
      return `    { let el = ${el}; let rr = el / ${BK}u; let kk = el % ${BK}u; let nb = el % ${BN}u; let kb = el / ${BN}u;
      let src = rowSrc[rr];
      var av = 0.0;
      if (src != 0xffffffffu && k0 + kk < u.K) { av = a[src + k0 + kk]; }
      As[kk * ${BM}u + rr] = av;
${wl.join('\n')}
    }`;
    })
    .join('\n');
}

function inner(nb: number): string {
  const lines = [`    for (var kk = 0u; kk < ${BK}u; kk++) {`];
  for (let i = 0; i < 4; i++) lines.push(`      let a${i} = As[kk * ${BM}u + tr + ${16 * i}u];`);
  for (let b = 0; b < nb; b++) for (let j = 0; j < 4; j++) lines.push(`      let b${b}_${j} = B${b}[kk * ${BN}u + tc + ${16 * j}u];`);
  for (let b = 0; b < nb; b++) {
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) lines.push(`      c${b}_${i}_${j} = fma(a${i}, b${b}_${j}, c${b}_${i}_${j});`);
  }
  lines.push('    }');
  return lines.join('\n');
}

function epilogue(p: MoeGroupedGemmParams): string {
  const lines: string[] = [];
  for (let i = 0; i < 4; i++) {
    lines.push(`  { let r = row0 + tr + ${16 * i}u; if (r < rowEnd) {`);
    lines.push(`    let ob = ${p.outRow === 'sorted' ? 'r' : 'perm[r]'} * u.N;`);
    for (let j = 0; j < 4; j++) {
      const st = range(p.nB).map((b) => {
        const v = `c${b}_${i}_${j}`;
        return `out${b}[ob + n] = ${p.accumulate ? `out${b}[ob + n] + ${v}` : v};`;
      });
      lines.push(`    { let n = n0 + tc + ${16 * j}u; if (n < u.N) { ${st.join(' ')} } }`);
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
  const accs = range(p.nB).flatMap((b) => range(16).map((q) => `  var c${b}_${Math.floor(q / 4)}_${q % 4} = 0.0;`));
  return /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(buffers(p), 'U')}
${readers(p)}
var<workgroup> As: array<f32, ${BM * BK}>;
${range(p.nB)
  .map((b) => `var<workgroup> B${b}: array<f32, ${BN * BK}>;`)
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

export const moeGroupedGemm: Kernel<MoeGroupedGemmParams> = {
  name: 'moeGroupedGemm',
  ref: moeGroupedGemmRef,
  program(p, caps: DeviceCaps) {
    const tiles = Math.ceil(p.A / BM) + p.E;
    const cols = Math.ceil(p.N / BN);
    if (tiles > caps.maxWorkgroupsPerDim || cols > caps.maxWorkgroupsPerDim) {
      throw new RangeError(`moeGroupedGemm: ${tiles}×${cols} tiles exceed ${caps.maxWorkgroupsPerDim} per dimension`);
    }
    const empty = p.A === 0 || p.N === 0;
    return {
      key: `moeGroupedGemm:${p.aSrc}:${p.outRow}:${p.bLayout}:${p.nB}:${p.accumulate}:${p.wDtype}`,
      code: () => gemmWgsl(p),
      buffers: buffers(p),
      uniforms: U.pack({ k: p.k, E: p.E, N: p.N, K: p.K }),
      workgroups: empty ? [0, 1, 1] : [cols, tiles, 1],
    };
  },
};
