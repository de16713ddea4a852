/**
 * moeGroupedMatmul: all experts' GEMMs in ONE dispatch (math in moeGroupedMatmul.ref.ts).
 * Workgroup (x, y) computes the 64×64 tile at column tile x of row tile y of the concatenated
 * per-expert tile schedule: tileStart (from moeScan) maps y to (expert, row tile) by binary search;
 * y beyond the last tile exits at once (the grid is sized for the worst case, ⌈A/64⌉ + E), so
 * experts with no tokens cost nothing. Rows are gathered through perm (no copy of x), the gateUp
 * mode keeps gate and up accumulators and applies SwiGLU in the epilogue, the down mode scatters
 * rows back to assignment order.
 * v1: 256 threads, 4×4 outputs each (rows tr + 16i, cols tc + 16j), BK 16 through workgroup
 * memory (12 KiB with two weight tiles), template unrolled in TypeScript.
 */
import { wgslHalfLoad } from '../core/dtype.js';
import { type BufferBinding, type DeviceCaps, type Kernel, type WgslScalar, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { MOE_TILE_M, type MoeGroupedMatmulParams, moeGroupedMatmulRef } from './moeGroupedMatmul.ref.js';
import { range } from '../core/codegen.js';

const BM = MOE_TILE_M;
const BN = 64;
const BK = 16;
const U = defineUniforms({ k: 'u32', E: 'u32', N: 'u32', K: 'u32' });

function buffers(p: MoeGroupedMatmulParams): BufferBinding[] {
  const w: WgslScalar = p.wDtype === 'f32' ? 'f32' : 'u32';
  return [
    { name: 'a', access: 'read', type: 'f32' },
    { name: 'perm', access: 'read', type: 'u32' },
    { name: 'offsets', access: 'read', type: 'u32' },
    { name: 'tileStart', access: 'read', type: 'u32' },
    { name: 'w0', access: 'read', type: w },
    ...(p.mode === 'gateUp' ? [{ name: 'w1', access: 'read' as const, type: w }] : []),
    { name: 'out', access: 'read_write', type: 'f32' },
  ];
}

function readers(p: MoeGroupedMatmulParams): string {
  const names = p.mode === 'gateUp' ? ['w0', 'w1'] : ['w0'];
  return names
    .map((n) => (p.wDtype === 'f32' ? `fn read_${n}(i: u32) -> f32 { return ${n}[i]; }` : wgslHalfLoad(`read_${n}`, n, p.wDtype)))
    .join('\n');
}

/** Loads the BK-slice of the A rows and of each weight tile into workgroup memory (k-major). */
function loads(p: MoeGroupedMatmulParams): string {
  const ws = p.mode === 'gateUp' ? ['w0', 'w1'] : ['w0'];
  return range((BM * BK) / 256)
    .map((i) => {
      const wl = ws.map((w, j) => `      B${j}[kk * ${BN}u + rr] = select(0.0, read_${w}(wbase + (n0 + rr) * u.K + k0 + kk), inN);`);
      return `    { let el = lid + ${i * 256}u; let rr = el / ${BK}u; let kk = el % ${BK}u;
      let src = rowSrc[rr];
      var av = 0.0;
      if (src != 0xffffffffu && k0 + kk < u.K) { av = a[src + k0 + kk]; }
      As[kk * ${BM}u + rr] = av;
      let inN = n0 + rr < u.N && k0 + kk < u.K;
${wl.join('\n')}
    }`;
    })
    .join('\n');
}

function inner(p: MoeGroupedMatmulParams): string {
  const nb = p.mode === 'gateUp' ? 2 : 1;
  const lines = [`    for (var kk = 0u; kk < ${BK}u; kk++) {`];
  for (let i = 0; i < 4; i++) lines.push(`      let a${i} = As[kk * ${BM}u + tr + ${16 * i}u];`);
  for (let b = 0; b < nb; b++) {
    for (let j = 0; j < 4; j++) lines.push(`      let b${b}_${j} = B${b}[kk * ${BN}u + tc + ${16 * j}u];`);
  }
  for (let b = 0; b < nb; b++) {
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) lines.push(`      c${b}_${i}_${j} = fma(a${i}, b${b}_${j}, c${b}_${i}_${j});`);
  }
  lines.push('    }');
  return lines.join('\n');
}

function epilogue(p: MoeGroupedMatmulParams): string {
  const lines: string[] = [];
  for (let i = 0; i < 4; i++) {
    lines.push(`  { let r = row0 + tr + ${16 * i}u; if (r < rowEnd) {`);
    lines.push(p.mode === 'gateUp' ? '    let ob = r * u.N;' : '    let ob = perm[r] * u.N;');
    for (let j = 0; j < 4; j++) {
      const v = p.mode === 'gateUp' ? `c0_${i}_${j} / (1.0 + exp(-c0_${i}_${j})) * c1_${i}_${j}` : `c0_${i}_${j}`;
      lines.push(`    { let n = n0 + tc + ${16 * j}u; if (n < u.N) { out[ob + n] = ${v}; } }`);
    }
    lines.push('  } }');
  }
  return lines.join('\n');
}

function groupedWgsl(p: MoeGroupedMatmulParams): string {
  const nb = p.mode === 'gateUp' ? 2 : 1;
  const accs = range(nb).flatMap((b) => range(16).map((q) => `  var c${b}_${Math.floor(q / 4)}_${q % 4} = 0.0;`));
  const src = p.mode === 'gateUp' ? '(perm[r] / u.k) * u.K' : 'r * u.K';
  return /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(buffers(p), 'U')}
${readers(p)}
var<workgroup> As: array<f32, ${BM * BK}>;
${range(nb)
  .map((b) => `var<workgroup> B${b}: array<f32, ${BN * BK}>;`)
  .join('\n')}
var<workgroup> rowSrc: array<u32, ${BM}>;
var<workgroup> total: u32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) { total = tileStart[u.E]; }
  if (wid.y >= workgroupUniformLoad(&total)) { return; }
  var lo = 0u; var hi = u.E;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (tileStart[mid] <= wid.y) { lo = mid; } else { hi = mid - 1u; }
  }
  let e = lo;
  let row0 = offsets[e] + (wid.y - tileStart[e]) * ${BM}u;
  let rowEnd = offsets[e + 1u];
  let n0 = wid.x * ${BN}u;
  let wbase = e * u.N * u.K;
  if (lid < ${BM}u) {
    let r = row0 + lid;
    rowSrc[lid] = select(0xffffffffu, ${src}, r < rowEnd);
  }
  let tr = lid / 16u;
  let tc = lid % 16u;
${accs.join('\n')}
  for (var k0 = 0u; k0 < u.K; k0 += ${BK}u) {
    workgroupBarrier();
${loads(p)}
    workgroupBarrier();
${inner(p)}
  }
${epilogue(p)}
}`;
}

export const moeGroupedMatmul: Kernel<MoeGroupedMatmulParams> = {
  name: 'moeGroupedMatmul',
  ref: moeGroupedMatmulRef,
  program(p, caps: DeviceCaps) {
    const tiles = Math.ceil(p.A / BM) + p.E;
    const cols = Math.ceil(p.N / BN);
    if (tiles > caps.maxWorkgroupsPerDim || cols > caps.maxWorkgroupsPerDim) {
      throw new RangeError(`moeGroupedMatmul: ${tiles}×${cols} tiles exceed ${caps.maxWorkgroupsPerDim} per dimension`);
    }
    const empty = p.A === 0 || p.N === 0;
    return {
      key: `moeGroupedMatmul:${p.mode}:${p.wDtype}`,
      code: () => groupedWgsl(p),
      buffers: buffers(p),
      uniforms: U.pack({ k: p.k, E: p.E, N: p.N, K: p.K }),
      workgroups: empty ? [0, 1, 1] : [cols, tiles, 1],
    };
  },
};
