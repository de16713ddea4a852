/**
 * WGSL for the tiled matmul. A workgroup of 256 threads computes a BM×BN tile of C, stepping over
 * K in BK slices staged through workgroup memory (A stored k-major so both operands are read as
 * vec4). Thread (tr, tc) owns TM×TN outputs split into groups of 4 rows/cols spaced BM/gm apart,
 * so the vec4 reads of a warp hit distinct banks. The next K slice is prefetched into registers
 * while the current one is multiplied.
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

function loadTile(name: 'A' | 'B', spec: TiledSpec): string {
  const { BM, BN, BK } = spec.tile;
  const rows = name === 'A' ? BM : BN; // the M (or N) extent of the tile
  const kMajor = name === 'A' ? spec.transA : !spec.transB; // stored [K][rows] in global memory
  const per = (rows * BK) / 256;
  const ext = name === 'A' ? 'u.M' : 'u.N';
  const base = name === 'A' ? 'baseA' : 'baseB';
  const ld = name === 'A' ? 'u.M' : 'u.N';
  const read = name === 'A' ? 'a[gi]' : 'readB(gi)';
  const lines = [];
  for (let i = 0; i < per; i++) {
    // kMajor: consecutive threads read consecutive rows of one k; else consecutive k of one row.
    const idx = kMajor
      ? `let kk${i} = (lid + ${i * 256}u) / ${rows}u; let rr${i} = (lid + ${i * 256}u) % ${rows}u;`
      : `let rr${i} = (lid + ${i * 256}u) / ${BK}u; let kk${i} = (lid + ${i * 256}u) % ${BK}u;`;
    const addr = kMajor
      ? `${base} + (k0 + kk${i}) * ${ld} + r0 + rr${i}`
      : `${base} + (r0 + rr${i}) * u.K + k0 + kk${i}`;
    lines.push(`    { ${idx}
      var v = 0.0;
      if (r0 + rr${i} < ${ext} && k0 + kk${i} < u.K) { let gi = ${addr}; v = ${read}; }
      reg${name}[${i}] = v; slot${name}[${i}] = kk${i} * ${rows}u + rr${i}; }`);
  }
  return lines.join('\n');
}

export function tiledMatmulWgsl(spec: TiledSpec, header: string): string {
  const { BM, BN, BK, TM, TN } = spec.tile;
  const gm = TM / 4;
  const gn = TN / 4;
  const perA = (BM * BK) / 256;
  const perB = (BN * BK) / 256;
  const bRead =
    spec.bDtype === 'f32'
      ? 'fn readB(i: u32) -> f32 { return b[i]; }'
      : wgslHalfLoad('readB', 'b', spec.bDtype);
  return /* wgsl */ `
${header}
${bRead}
const BM = ${BM}u;
const BN = ${BN}u;
var<workgroup> As: array<vec4<f32>, ${(BK * BM) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(BK * BN) / 4}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tr = lid / ${BN / TN}u;
  let tc = lid % ${BN / TN}u;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let batch = wid.z;
  let baseA = batch * u.strideA;
  let baseB = batch * u.strideB;
  var acc: array<array<vec4<f32>, ${gn}>, ${TM}>;
  var regA: array<f32, ${perA}>;
  var slotA: array<u32, ${perA}>;
  var regB: array<f32, ${perB}>;
  var slotB: array<u32, ${perB}>;
  let nk = (u.K + ${BK - 1}u) / ${BK}u;
  var k0 = 0u;
  { let r0 = m0;
${loadTile('A', spec)}
  }
  { let r0 = n0;
${loadTile('B', spec)}
  }
  for (var kt = 0u; kt < nk; kt++) {
    for (var i = 0u; i < ${perA}u; i++) { As[slotA[i] / 4u][slotA[i] % 4u] = regA[i]; }
    for (var i = 0u; i < ${perB}u; i++) { Bs[slotB[i] / 4u][slotB[i] % 4u] = regB[i]; }
    workgroupBarrier();
    if (kt + 1u < nk) {
      k0 = (kt + 1u) * ${BK}u;
      { let r0 = m0;
${loadTile('A', spec)}
      }
      { let r0 = n0;
${loadTile('B', spec)}
      }
    }
    for (var k = 0u; k < ${BK}u; k++) {
      var av: array<vec4<f32>, ${gm}>;
      var bv: array<vec4<f32>, ${gn}>;
      for (var g = 0u; g < ${gm}u; g++) { av[g] = As[(k * BM + g * ${BM / gm}u + tr * 4u) / 4u]; }
      for (var g = 0u; g < ${gn}u; g++) { bv[g] = Bs[(k * BN + g * ${BN / gn}u + tc * 4u) / 4u]; }
      for (var g = 0u; g < ${gm}u; g++) {
        for (var i = 0u; i < 4u; i++) {
          let x = av[g][i];
          for (var h = 0u; h < ${gn}u; h++) { acc[g * 4u + i][h] = fma(vec4<f32>(x), bv[h], acc[g * 4u + i][h]); }
        }
      }
    }
    workgroupBarrier();
  }
  let baseC = batch * u.strideC;
  for (var g = 0u; g < ${gm}u; g++) {
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + g * ${BM / gm}u + tr * 4u + i;
      if (m >= u.M) { continue; }
      for (var h = 0u; h < ${gn}u; h++) {
        let n = n0 + h * ${BN / gn}u + tc * 4u;
        let v = acc[g * 4u + i][h];
        for (var j = 0u; j < 4u; j++) { if (n + j < u.N) { c[baseC + m * u.ldc + n + j] = v[j]; } }
      }
    }
  }
}`;
}
