/**
 * moeWeightGrad: every expert's weight gradient in ONE dispatch (math in moeWeightGrad.ref.ts).
 * Workgroup (x, y, z) computes the 64×128 tile (rows n0 = 64y of N, columns m0 = 128x of M) of expert
 * z, reducing over that expert's sorted rows in slices of 16 (a fixed order: deterministic, no
 * atomics). v1: 256 threads × 4×4 outputs, both operands staged k-major in workgroup memory (8 KiB),
 * loads coalesced along N and M; an expert without rows writes zeros (or leaves an accumulation).
 * v2: 64×128 tiles, 4 rows × 8 columns (two vec4 groups) per thread, Q staged as vec4 rows.
 */
import { type BufferBinding, type DeviceCaps, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { wgslMoeRow } from './moeGroupedGemm.js';
import { type MoeWeightGradParams, moeWeightGradRef } from './moeWeightGrad.ref.js';

/** rows of dW (N) and columns (M) per tile */
const BN = 64;
const BM = 128;
const BK = 16;
const U = defineUniforms({ k: 'u32', N: 'u32', M: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'P', access: 'read', type: 'f32' },
  { name: 'Q', access: 'read', type: 'f32' },
  { name: 'perm', access: 'read', type: 'u32' },
  { name: 'offsets', access: 'read', type: 'u32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** One 16-row slice: P [16 × 64] scalar and Q [16 × 128] as vec4 rows, both k(row)-major. */
function loads(p: MoeWeightGradParams): string {
  const pl = range((BN * BK) / 256).map(
    (i) => `    { let el = lid + ${i * 256}u; let c = el % ${BN}u; let kk = el / ${BN}u; let r = r0 + kk;
      var v = 0.0;
      if (r < rEnd && n0 + c < u.N) { v = P[${wgslMoeRow(p.pSrc, 'r')} * u.N + n0 + c]; }
      Ps[kk * ${BN}u + c] = v; }`,
  );
  const ql = range((BM * BK) / 256).map(
    (i) => `    { let el = lid + ${i * 256}u; let c = el % ${BM}u; let kk = el / ${BM}u; let r = r0 + kk;
      var v = 0.0;
      if (r < rEnd && m0 + c < u.M) { v = Q[${wgslMoeRow(p.qSrc, 'r')} * u.M + m0 + c]; }
      let s = kk * ${BM}u + c; Qs[s >> 2u][s & 3u] = v; }`,
  );
  return [...pl, ...ql].join('\n');
}

function inner(): string {
  const lines = [`    for (var kk = 0u; kk < ${BK}u; kk++) {`];
  for (let i = 0; i < 4; i++) lines.push(`      let p${i} = vec4<f32>(Ps[kk * ${BN}u + tn + ${16 * i}u]);`);
  for (let h = 0; h < 2; h++) lines.push(`      let q${h} = Qs[kk * ${BM / 4}u + ${16 * h}u + tm];`);
  for (let i = 0; i < 4; i++) for (let h = 0; h < 2; h++) lines.push(`      c${i}_${h} = fma(p${i}, q${h}, c${i}_${h});`);
  lines.push('    }');
  return lines.join('\n');
}

function epilogue(p: MoeWeightGradParams): string {
  const lines: string[] = [];
  for (let i = 0; i < 4; i++) {
    lines.push(`  { let n = n0 + tn + ${16 * i}u; if (n < u.N) {`);
    for (let h = 0; h < 2; h++) {
      const v = p.accumulate ? `out[o + j] + c${i}_${h}[j]` : `c${i}_${h}[j]`;
      lines.push(`    { let m = m0 + ${64 * h}u + tm * 4u; let o = (e * u.N + n) * u.M + m;
      for (var j = 0u; j < 4u; j++) { if (m + j < u.M) { out[o + j] = ${v}; } } }`);
    }
    lines.push('  } }');
  }
  return lines.join('\n');
}

const gradWgsl = (p: MoeWeightGradParams) => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
var<workgroup> Ps: array<f32, ${BN * BK}>;
var<workgroup> Qs: array<vec4<f32>, ${(BM * BK) / 4}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let e = wid.z;
  let m0 = wid.x * ${BM}u;
  let n0 = wid.y * ${BN}u;
  let rStart = offsets[e];
  let rEnd = offsets[e + 1u];
  let tn = lid / 16u;
  let tm = lid % 16u;
${range(8)
  .map((q) => `  var c${q >> 1}_${q & 1} = vec4<f32>(0.0);`)
  .join('\n')}
  for (var r0 = rStart; r0 < rEnd; r0 += ${BK}u) {
    workgroupBarrier();
${loads(p)}
    workgroupBarrier();
${inner()}
  }
${epilogue(p)}
}`;

export const moeWeightGrad: Kernel<MoeWeightGradParams> = {
  name: 'moeWeightGrad',
  ref: moeWeightGradRef,
  program(p, caps: DeviceCaps) {
    const x = Math.ceil(p.M / BM);
    const y = Math.ceil(p.N / BN);
    if (x > caps.maxWorkgroupsPerDim || y > caps.maxWorkgroupsPerDim || p.E > caps.maxWorkgroupsPerDim) {
      throw new RangeError(`moeWeightGrad: ${x}×${y}×${p.E} tiles exceed ${caps.maxWorkgroupsPerDim} per dimension`);
    }
    return {
      key: `moeWeightGrad:${p.pSrc}:${p.qSrc}:${p.accumulate}`,
      code: () => gradWgsl(p),
      buffers: BUFFERS,
      uniforms: U.pack({ k: p.k, N: p.N, M: p.M }),
      workgroups: p.N === 0 || p.M === 0 || p.E === 0 ? [0, 1, 1] : [x, y, p.E],
    };
  },
};
