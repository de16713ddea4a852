/**
 * moeWeightGrad: every expert's weight gradient in ONE dispatch (math in moeWeightGrad.ref.ts).
 * Workgroup (x, y, z) computes the 64×64 tile (rows n0 = 64y of N, columns m0 = 64x of M) of expert
 * z, reducing over that expert's sorted rows in slices of 16 (a fixed order: deterministic, no
 * atomics). v1: 256 threads × 4×4 outputs, both operands staged k-major in workgroup memory (8 KiB),
 * loads coalesced along N and M; an expert without rows writes zeros (or leaves an accumulation).
 */
import { type BufferBinding, type DeviceCaps, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { wgslMoeRow } from './moeGroupedGemm.js';
import { type MoeWeightGradParams, moeWeightGradRef } from './moeWeightGrad.ref.js';

const BT = 64;
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

function loads(p: MoeWeightGradParams): string {
  return range((BT * BK) / 256)
    .map(
      (i) => `    { let el = lid + ${i * 256}u; let c = el % ${BT}u; let kk = el / ${BT}u; let r = r0 + kk;
      var pv = 0.0; var qv = 0.0;
      if (r < rEnd) {
        if (n0 + c < u.N) { pv = P[${wgslMoeRow(p.pSrc, 'r')} * u.N + n0 + c]; }
        if (m0 + c < u.M) { qv = Q[${wgslMoeRow(p.qSrc, 'r')} * u.M + m0 + c]; }
      }
      Ps[kk * ${BT}u + c] = pv; Qs[kk * ${BT}u + c] = qv; }`,
    )
    .join('\n');
}

function inner(): string {
  const lines = [`    for (var kk = 0u; kk < ${BK}u; kk++) {`];
  for (let i = 0; i < 4; i++) lines.push(`      let p${i} = Ps[kk * ${BT}u + tn + ${16 * i}u];`);
  for (let j = 0; j < 4; j++) lines.push(`      let q${j} = Qs[kk * ${BT}u + tm + ${16 * j}u];`);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) lines.push(`      c${i}_${j} = fma(p${i}, q${j}, c${i}_${j});`);
  lines.push('    }');
  return lines.join('\n');
}

function epilogue(p: MoeWeightGradParams): string {
  const lines: string[] = [];
  for (let i = 0; i < 4; i++) {
    lines.push(`  { let n = n0 + tn + ${16 * i}u; if (n < u.N) {`);
    for (let j = 0; j < 4; j++) {
      const v = p.accumulate ? `out[o] + c${i}_${j}` : `c${i}_${j}`;
      lines.push(`    { let m = m0 + tm + ${16 * j}u; if (m < u.M) { let o = (e * u.N + n) * u.M + m; out[o] = ${v}; } }`);
    }
    lines.push('  } }');
  }
  return lines.join('\n');
}

const gradWgsl = (p: MoeWeightGradParams) => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
var<workgroup> Ps: array<f32, ${BT * BK}>;
var<workgroup> Qs: array<f32, ${BT * BK}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let e = wid.z;
  let m0 = wid.x * ${BT}u;
  let n0 = wid.y * ${BT}u;
  let rStart = offsets[e];
  let rEnd = offsets[e + 1u];
  let tn = lid / 16u;
  let tm = lid % 16u;
${range(16)
  .map((q) => `  var c${Math.floor(q / 4)}_${q % 4} = 0.0;`)
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
    const x = Math.ceil(p.M / BT);
    const y = Math.ceil(p.N / BT);
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
