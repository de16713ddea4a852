/**
 * WGSL for the tiled matmul. A workgroup of 256 threads computes a BM×BN tile of C, stepping over
 * K in BK slices staged through workgroup memory (both operands stored k-major, so the inner loop
 * reads vec4s). Thread (tr, tc) owns TM×TN outputs split into groups of 4 rows/cols spaced BM/gm
 * apart, so the vec4 reads of a warp hit distinct banks. The next K slice is prefetched into
 * registers while the current one is multiplied.
 * The template is fully unrolled in TypeScript (named registers, no arrays indexed in loops), so
 * no shader compiler has to unroll it to keep the accumulators in registers.
 */
import { wgslHalfLoad } from '../core/dtype.js';

export interface TileConfig {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
}

export const TILE_LARGE: TileConfig = { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 };
export const TILE_SMALL: TileConfig = { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 };

export interface TiledSpec {
  tile: TileConfig;
  transA: boolean;
  transB: boolean;
  bDtype: 'f32' | 'f16' | 'bf16';
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Global → registers: `r{name}{i}` holds element lid + 256·i of the tile, zero outside the matrix. */
function loadTile(name: 'A' | 'B', spec: TiledSpec): string {
  const { BM, BN, BK } = spec.tile;
  const rows = name === 'A' ? BM : BN;
  const kMajor = name === 'A' ? spec.transA : !spec.transB; // stored [K][rows] in global memory
  const ext = name === 'A' ? 'u.M' : 'u.N';
  const base = name === 'A' ? 'baseA' : 'baseB';
  const r0 = name === 'A' ? 'm0' : 'n0';
  const read = name === 'A' ? 'a[gi]' : 'readB(gi)';
  return range((rows * BK) / 256)
    .map((i) => {
      const e = `(lid + ${i * 256}u)`;
      const [kk, rr] = kMajor ? [`${e} / ${rows}u`, `${e} % ${rows}u`] : [`${e} % ${BK}u`, `${e} / ${BK}u`];
      const addr = kMajor ? `${base} + (k0 + kk) * ${ext} + ${r0} + rr` : `${base} + (${r0} + rr) * u.K + k0 + kk`;
      return `    { let kk = ${kk}; let rr = ${rr};
      r${name}${i} = 0.0;
      if (${r0} + rr < ${ext} && k0 + kk < u.K) { let gi = ${addr}; r${name}${i} = ${read}; } }`;
    })
    .join('\n');
}

/** Registers → workgroup memory at [kk][rr] (k-major). */
function storeTile(name: 'A' | 'B', spec: TiledSpec): string {
  const { BM, BN, BK } = spec.tile;
  const rows = name === 'A' ? BM : BN;
  const kMajor = name === 'A' ? spec.transA : !spec.transB;
  return range((rows * BK) / 256)
    .map((i) => {
      const e = `(lid + ${i * 256}u)`;
      const slot = kMajor ? e : `(${e} % ${BK}u) * ${rows}u + ${e} / ${BK}u`;
      return `    { let s = ${slot}; ${name}s[s >> 2u][s & 3u] = r${name}${i}; }`;
    })
    .join('\n');
}

function inner(spec: TiledSpec): string {
  const { BM, BN, TM, TN } = spec.tile;
  const gm = TM / 4;
  const gn = TN / 4;
  const lines: string[] = [];
  for (let g = 0; g < gm; g++) lines.push(`      let a${g} = As[k * ${BM / 4}u + ${(g * BM) / gm / 4}u + tr];`);
  for (let h = 0; h < gn; h++) lines.push(`      let b${h} = Bs[k * ${BN / 4}u + ${(h * BN) / gn / 4}u + tc];`);
  for (let g = 0; g < gm; g++) {
    for (const [i, c] of ['x', 'y', 'z', 'w'].entries()) {
      for (let h = 0; h < gn; h++) {
        const acc = `c${g * 4 + i}_${h}`;
        lines.push(`      ${acc} = fma(vec4<f32>(a${g}.${c}), b${h}, ${acc});`);
      }
    }
  }
  return lines.join('\n');
}

function writeC(spec: TiledSpec): string {
  const { BM, BN, TM, TN } = spec.tile;
  const gm = TM / 4;
  const gn = TN / 4;
  const lines: string[] = [];
  for (let g = 0; g < gm; g++) {
    for (let i = 0; i < 4; i++) {
      const m = `m0 + ${(g * BM) / gm}u + tr * 4u + ${i}u`;
      lines.push(`  { let m = ${m}; if (m < u.M) {`);
      for (let h = 0; h < gn; h++) {
        lines.push(`    { let n = n0 + ${(h * BN) / gn}u + tc * 4u; let v = c${g * 4 + i}_${h};
      let o = baseC + m * u.ldc + n;
      if (n + 3u < u.N) { c[o] = v.x; c[o + 1u] = v.y; c[o + 2u] = v.z; c[o + 3u] = v.w; }
      else { for (var j = 0u; j < 4u; j++) { if (n + j < u.N) { c[o + j] = v[j]; } } } }`);
      }
      lines.push('  } }');
    }
  }
  return lines.join('\n');
}

export function tiledMatmulWgsl(spec: TiledSpec, header: string): string {
  const { BM, BN, BK, TM, TN } = spec.tile;
  const perA = (BM * BK) / 256;
  const perB = (BN * BK) / 256;
  const bRead =
    spec.bDtype === 'f32' ? 'fn readB(i: u32) -> f32 { return b[i]; }' : wgslHalfLoad('readB', 'b', spec.bDtype);
  const accs = range(TM)
    .flatMap((r) => range(TN / 4).map((h) => `  var c${r}_${h} = vec4<f32>(0.0);`))
    .join('\n');
  const regs = [...range(perA).map((i) => `rA${i}`), ...range(perB).map((i) => `rB${i}`)];
  return /* wgsl */ `
${header}
${bRead}
var<workgroup> As: array<vec4<f32>, ${(BK * BM) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(BK * BN) / 4}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tr = lid / ${BN / TN}u;
  let tc = lid % ${BN / TN}u;
  let m0 = wid.y * ${BM}u;
  let n0 = wid.x * ${BN}u;
  let baseA = wid.z * u.strideA;
  let baseB = wid.z * u.strideB;
  let baseC = wid.z * u.strideC;
${accs}
${regs.map((r) => `  var ${r} = 0.0;`).join('\n')}
  let nk = (u.K + ${BK - 1}u) / ${BK}u;
  var k0 = 0u;
${loadTile('A', spec)}
${loadTile('B', spec)}
  for (var kt = 0u; kt < nk; kt++) {
${storeTile('A', spec)}
${storeTile('B', spec)}
    workgroupBarrier();
    if (kt + 1u < nk) {
      k0 = (kt + 1u) * ${BK}u;
${loadTile('A', spec)}
${loadTile('B', spec)}
    }
    for (var k = 0u; k < ${BK}u; k++) {
${inner(spec)}
    }
    workgroupBarrier();
  }
${writeC(spec)}
}`;
}
