/**
 * moeWeightGrad: every expert's weight gradient in ONE dispatch (math in moeWeightGrad.ref.ts).
 * Workgroup (x, y, z) computes one tile (rows n0 of N, columns m0 of M) of expert z, reducing over
 * that expert's sorted rows in fixed slices (a fixed order: deterministic, no atomics); an expert
 * without rows writes zeros (or leaves an accumulation).
 * v1: 64×64 tiles, 256 threads × 4×4 outputs, both operands k-major in workgroup memory.
 * v2: 64×128 tiles, 4×8 outputs per thread, Q staged as vec4 rows.
 * v3: 128×128 tiles, 8×8 outputs per thread, both operands as vec4 rows, slices of 8 rows
 *   (moeTile128.wgsl.ts: 4 vec4 reads per 64 multiply-adds).
 */
import { type BufferBinding, type DeviceCaps, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { acc128, BK128, inner128, store128, T128, wgslRow } from './moeTile128.wgsl.js';
import { type MoeWeightGradParams, moeWeightGradRef } from './moeWeightGrad.ref.js';
import { range } from '../core/codegen.js';

const U = defineUniforms({ k: 'u32', N: 'u32', M: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'P', access: 'read', type: 'f32' },
  { name: 'Q', access: 'read', type: 'f32' },
  { name: 'perm', access: 'read', type: 'u32' },
  { name: 'offsets', access: 'read', type: 'u32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];

/** One slice of BK rows: P [BK × 128 of N] into Xs, Q [BK × 128 of M] into Ys. */
function loads(p: MoeWeightGradParams): string {
  const one = (buf: string, src: string, map: MoeWeightGradParams['pSrc'], base: string, ext: string, i: number) =>
    `    { let el = lid + ${i * 256}u; let c = el % ${T128}u; let kk = el / ${T128}u; let r = r0 + kk;
      var v = 0.0;
      if (r < rEnd && ${base} + c < ${ext}) { v = ${src}[${wgslRow(map, 'r')} * ${ext} + ${base} + c]; }
      let s = kk * ${T128}u + c; ${buf}[s >> 2u][s & 3u] = v; }`;
  const n = (T128 * BK128) / 256;
  return [...range(n).map((i) => one('Xs', 'P', p.pSrc, 'n0', 'u.N', i)), ...range(n).map((i) => one('Ys', 'Q', p.qSrc, 'm0', 'u.M', i))].join('\n');
}

function epilogue(p: MoeWeightGradParams): string {
  return store128(
    'rn',
    (r) => `n0 + ${r} < u.N`,
    (q, h) => {
      const v = p.accumulate ? `out[o + j] + c${q}_${h}[j]` : `c${q}_${h}[j]`;
      return `    { let m = m0 + ${64 * h}u + tc * 4u; let o = (e * u.N + n0 + rn) * u.M + m;
      for (var j = 0u; j < 4u; j++) { if (m + j < u.M) { out[o + j] = ${v}; } } }`;
    },
  );
}

const gradWgsl = (p: MoeWeightGradParams) => /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(BUFFERS, 'U')}
var<workgroup> Xs: array<vec4<f32>, ${(T128 * BK128) / 4}>;
var<workgroup> Ys: array<vec4<f32>, ${(T128 * BK128) / 4}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let e = wid.z;
  let m0 = wid.x * ${T128}u;
  let n0 = wid.y * ${T128}u;
  let rStart = offsets[e];
  let rEnd = offsets[e + 1u];
  let tr = lid / 16u;
  let tc = lid % 16u;
${acc128()}
  for (var r0 = rStart; r0 < rEnd; r0 += ${BK128}u) {
    workgroupBarrier();
${loads(p)}
    workgroupBarrier();
${inner128()}
  }
${epilogue(p)}
}`;

export const moeWeightGrad: Kernel<MoeWeightGradParams> = {
  name: 'moeWeightGrad',
  ref: moeWeightGradRef,
  program(p, caps: DeviceCaps) {
    const x = Math.ceil(p.M / T128);
    const y = Math.ceil(p.N / T128);
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
