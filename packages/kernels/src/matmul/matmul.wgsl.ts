/**
 * WGSL for the tiled matmul. A workgroup of (BM/TM)·(BN/TN) threads (256 for the default tiles; 128
 * for 64 × 128 or 128 × 64 tiles of 8 × 8 a thread) computes a BM×BN tile of C, stepping over
 * K in BK slices staged through workgroup memory (both operands stored k-major, so the inner loop
 * reads vec4s). Thread (tr, tc) owns TM×TN outputs split into groups of 4 rows/cols spaced BM/gm
 * apart, so the vec4 reads of a warp hit distinct banks. The next K slice is prefetched into
 * registers while the current one is multiplied.
 * The template is fully unrolled in TypeScript (named registers, no arrays indexed in loops), so
 * no shader compiler has to unroll it to keep the accumulators in registers.
 */
import { wgslHalfLoad } from '../core/dtype.js';
import { range } from '../core/codegen.js';

export interface TileConfig {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
  /** two workgroup-memory buffers, one barrier per K slice (default true) */
  double?: boolean;
  /** unroll the k loop inside a slice in the template (default false) */
  unrollK?: boolean;
  /** pad rows of transposed-on-store operands by 4 floats (default true) */
  pad?: boolean;
  /** arrange each 32-lane warp as 4 thread rows × 8 thread columns (fewer shared-memory wavefronts) */
  warp4x8?: boolean;
}

export const TILE_LARGE: TileConfig = { BM: 128, BN: 128, BK: 4, TM: 8, TN: 8, double: false, pad: false, warp4x8: true };
export const TILE_SMALL: TileConfig = { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 };

export interface TiledSpec {
  tile: TileConfig;
  transA: boolean;
  transB: boolean;
  bDtype: 'f32' | 'f16' | 'bf16';
  /** split-K: workgroup z covers batch entry z mod batch over K range z / batch (else all of K) */
  split?: boolean;
}

/**
 * Workgroup-memory row stride (floats per k) of an operand. An operand stored [rows][K] in global
 * memory is transposed on the way in; padding its rows by 4 floats spreads those scalar stores over
 * all banks while keeping vec4 alignment.
 */
function smemStride(name: 'A' | 'B', spec: TiledSpec): number {
  const rows = name === 'A' ? spec.tile.BM : spec.tile.BN;
  const kMajor = name === 'A' ? spec.transA : !spec.transB;
  return kMajor || spec.tile.pad === false ? rows : rows + 4;
}

function smemSize(name: 'A' | 'B', spec: TiledSpec): number {
  return (smemStride(name, spec) * spec.tile.BK) / 4; // vec4s per buffer
}

/** Threads of a tile's workgroup: one per TM × TN block. */
export const tileThreads = (t: TileConfig): number => (t.BM / t.TM) * (t.BN / t.TN);

/** Global → registers: `r{name}{i}` holds element lid + WG·i of the tile, zero outside the matrix. */
function loadTile(name: 'A' | 'B', spec: TiledSpec): string {
  const { BM, BN, BK } = spec.tile;
  const rows = name === 'A' ? BM : BN;
  const kMajor = name === 'A' ? spec.transA : !spec.transB; // stored [K][rows] in global memory
  const ext = name === 'A' ? 'u.M' : 'u.N';
  const base = name === 'A' ? 'baseA' : 'baseB';
  const r0 = name === 'A' ? 'm0' : 'n0';
  const read = name === 'A' ? 'a[gi]' : 'readB(gi)';
  const wg = tileThreads(spec.tile);
  return range((rows * BK) / wg)
    .map((i) => {
      const e = `(lid + ${i * wg}u)`;
      const [kk, rr] = kMajor ? [`${e} / ${rows}u`, `${e} % ${rows}u`] : [`${e} % ${BK}u`, `${e} / ${BK}u`];
      const addr = kMajor ? `${base} + (k0 + kk) * ${ext} + ${r0} + rr` : `${base} + (${r0} + rr) * u.K + k0 + kk`;
      return `    { let kk = ${kk}; let rr = ${rr};
      r${name}${i} = 0.0;
      if (${r0} + rr < ${ext} && k0 + kk < kEnd) { let gi = ${addr}; r${name}${i} = ${read}; } }`;
    })
    .join('\n');
}

/** Registers → workgroup memory buffer `buf` at [kk][rr] (k-major, rows padded, see smemStride). */
function storeTile(name: 'A' | 'B', spec: TiledSpec, buf: string): string {
  const { BM, BN, BK } = spec.tile;
  const rows = name === 'A' ? BM : BN;
  const kMajor = name === 'A' ? spec.transA : !spec.transB;
  const stride = smemStride(name, spec);
  const wg = tileThreads(spec.tile);
  return range((rows * BK) / wg)
    .map((i) => {
      const e = `(lid + ${i * wg}u)`;
      const slot = kMajor ? `(${e} / ${rows}u) * ${stride}u + ${e} % ${rows}u` : `(${e} % ${BK}u) * ${stride}u + ${e} / ${BK}u`;
      return `    { let s = ${buf} * ${smemSize(name, spec) * 4}u + ${slot}; ${name}s[s >> 2u][s & 3u] = r${name}${i}; }`;
    })
    .join('\n');
}

/** The multiply of one K slice from buffer offsets oa / ob, unrolled over k. */
function inner(spec: TiledSpec): string {
  const { BM, BN, BK, TM, TN } = spec.tile;
  const gm = TM / 4;
  const gn = TN / 4;
  const sa = smemStride('A', spec) / 4;
  const sb = smemStride('B', spec) / 4;
  const lines: string[] = [];
  const unroll = spec.tile.unrollK === true;
  for (let k = 0; k < (unroll ? BK : 1); k++) {
    lines.push(unroll ? '    {' : `    for (var k = 0u; k < ${BK}u; k++) {`);
    const ka = unroll ? `${k * sa}u` : `k * ${sa}u`;
    const kb = unroll ? `${k * sb}u` : `k * ${sb}u`;
    for (let g = 0; g < gm; g++) lines.push(`      let a${g} = As[oa + ${ka} + ${(g * BM) / gm / 4}u + tr];`);
    for (let h = 0; h < gn; h++) lines.push(`      let b${h} = Bs[ob + ${kb} + ${(h * BN) / gn / 4}u + tc];`);
    for (let g = 0; g < gm; g++) {
      for (const [i, c] of ['x', 'y', 'z', 'w'].entries()) {
        for (let h = 0; h < gn; h++) {
          const acc = `c${g * 4 + i}_${h}`;
          lines.push(`      ${acc} = fma(vec4<f32>(a${g}.${c}), b${h}, ${acc});`);
        }
      }
    }
    lines.push('    }');
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

/** (tr, tc): the thread's row and column in the grid of BM/TM × BN/TN thread tiles. */
function threadCoords(t: TileConfig): string {
  const cols = t.BN / t.TN;
  if (!t.warp4x8 || cols % 8 !== 0) return `  let tr = lid / ${cols}u;\n  let tc = lid % ${cols}u;`;
  const warpsPerRow = cols / 8;
  return `  let w = lid / 32u;
  let lane = lid % 32u;
  let tr = (w / ${warpsPerRow}u) * 4u + lane / 8u;
  let tc = (w % ${warpsPerRow}u) * 8u + lane % 8u;`;
}

/** Workgroup memory of a tiled program (both operands, double-buffered). */
export function tiledWorkgroupBytes(spec: TiledSpec): number {
  return (spec.tile.double === false ? 1 : 2) * 16 * (smemSize('A', spec) + smemSize('B', spec));
}

export function tiledMatmulWgsl(spec: TiledSpec, header: string): string {
  const { BM, BN, BK, TM, TN } = spec.tile;
  const perA = (BM * BK) / tileThreads(spec.tile);
  const perB = (BN * BK) / tileThreads(spec.tile);
  const bRead =
    spec.bDtype === 'f32' ? 'fn readB(i: u32) -> f32 { return b[i]; }' : wgslHalfLoad('readB', 'b', spec.bDtype);
  const accs = range(TM)
    .flatMap((r) => range(TN / 4).map((h) => `  var c${r}_${h} = vec4<f32>(0.0);`))
    .join('\n');
  const regs = [...range(perA).map((i) => `rA${i}`), ...range(perB).map((i) => `rB${i}`)];
  return /* wgsl */ `
${header}
${bRead}
var<workgroup> As: array<vec4<f32>, ${(spec.tile.double === false ? 1 : 2) * smemSize('A', spec)}>;
var<workgroup> Bs: array<vec4<f32>, ${(spec.tile.double === false ? 1 : 2) * smemSize('B', spec)}>;

@compute @workgroup_size(${tileThreads(spec.tile)})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
${threadCoords(spec.tile)}
  let m0 = wid.y * ${BM}u;
  let n0 = wid.x * ${BN}u;
${
  spec.split
    ? `  // workgroup z: batch entry z mod batch, K range z / batch of kSplit (split-K: part z of C)
  let bz = wid.z % u.batch;
  let kBegin = (wid.z / u.batch) * u.kSplit;
  let kEnd = min(u.K, kBegin + u.kSplit);`
    : `  let bz = wid.z;
  let kBegin = 0u;
  let kEnd = u.K;`
}
  let baseA = bz * u.strideA;
  let baseB = bz * u.strideB;
  let baseC = wid.z * u.strideC;
${accs}
${regs.map((r) => `  var ${r} = 0.0;`).join('\n')}
  let nk = ${spec.split ? `(max(kEnd, kBegin) - kBegin + ${BK - 1}u) / ${BK}u` : `(u.K + ${BK - 1}u) / ${BK}u`};
  var k0 = kBegin;
${loadTile('A', spec)}
${loadTile('B', spec)}
${spec.tile.double === false ? singleBuffered(spec) : doubleBuffered(spec)}
${writeC(spec)}
}`;
}

/** Slice kt+1 is loaded into registers before slice kt is multiplied, then stored into the other buffer. */
function doubleBuffered(spec: TiledSpec): string {
  return `${storeTile('A', spec, '0u')}
${storeTile('B', spec, '0u')}
  workgroupBarrier();
  for (var kt = 0u; kt < nk; kt++) {
    let cur = kt & 1u;
    let more = kt + 1u < nk;
    if (more) {
      k0 = kBegin + (kt + 1u) * ${spec.tile.BK}u;
${loadTile('A', spec)}
${loadTile('B', spec)}
    }
    let oa = cur * ${smemSize('A', spec)}u;
    let ob = cur * ${smemSize('B', spec)}u;
${inner(spec)}
    if (more) {
${storeTile('A', spec, '(1u - cur)')}
${storeTile('B', spec, '(1u - cur)')}
    }
    workgroupBarrier();
  }`;
}

/** One buffer: store, barrier, prefetch the next slice into registers, multiply, barrier. */
function singleBuffered(spec: TiledSpec): string {
  return `  let oa = 0u;
  let ob = 0u;
  for (var kt = 0u; kt < nk; kt++) {
${storeTile('A', spec, '0u')}
${storeTile('B', spec, '0u')}
    workgroupBarrier();
    if (kt + 1u < nk) {
      k0 = kBegin + (kt + 1u) * ${spec.tile.BK}u;
${loadTile('A', spec)}
${loadTile('B', spec)}
    }
${inner(spec)}
    workgroupBarrier();
  }`;
}
