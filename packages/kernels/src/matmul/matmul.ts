/**
 * matmul: C = op(A) · op(B), batched, either operand transposed, B in f32 or packed f16/bf16.
 * Numbers: f32 4096³ / bf16 decode matvec 1×4096·(14336×4096)ᵀ on the H200 (docs/benchmarks.md).
 * v1 tiled: 128×128×16 tiles, 8×8 outputs per thread, arrays indexed in loops: 24 TFLOP/s.
 * v2 tiled: template unrolled in TypeScript (named accumulators), BK 8: 30 TFLOP/s.
 * v3 tiled (default): BK 4, each warp 4×8 thread tiles (fewer shared-memory wavefronts): 35.7;
 *    with B transposed, its rows padded in workgroup memory (largeTile).
 *    Tried and slower here: double buffering, unrolled k, 128×256 / 256×128 tiles, BK 2 and 16;
 *    later (bench/matmul-variants --vec4 / --tiles, H200): vec4 loads of A and B with vec4 stores of C
 *    (0.78–0.90×), 512-thread tiles where a device grants them, the K loop without register
 *    prefetching or with its last slice peeled, each half of the threads loading one operand in
 *    groups of four stored as one vec4; sliced K (two thread groups a tile, each over half of every
 *    K slice, sums added through workgroup memory: 512-thread 128² tiles and 256-thread 64 × 128 ones,
 *    0.55–0.87×); the call's shape compiled in (±2%), Dawn toggles that change the SPIR-V (±1%),
 *    128-thread 128² tiles of 16 × 8, producer threads that alone load the next slice into a second
 *    buffer (0.44–0.70×) (docs/benchmarks.md). With Dawn's robustness off (Node only) the default
 *    reaches 0.75× cuBLAS, the 128-thread 64 × 128 tile 0.79× at 8192 × 5632 × 2048.
 * tiledSmall: 64×64×16 tiles, 4×4 per thread, when 128² tiles would leave the GPU idle (fewer than
 *    LARGE_TILES_MIN of them).
 * splitK: K ranges as extra workgroups writing partial products that the op sums in order
 *    (matmulSplitK: below one wave of 128² tiles over K ≥ 1536; LM head's dY·W 4.97 → 3.78 ms).
 * v1 matvec: 64 threads a row, M read from uniforms: 1.03 TB/s of weights.
 * v2 matvec: M compiled in, vec4 x, 8 loads in flight, one-barrier reduction: 2.4 (3.0 GPU-timed).
 * v3 matvec (default `lanes` shape): 4 rows per 256-thread workgroup: 3.33–3.51 TB/s across runs
 *    (78–83% of copy). Slower in the same run: 2 rows a 128-thread workgroup (3.14), 1 row a 64-thread
 *    one (2.80), 128 threads a row with 4 loads each (2.84), 8 rows (3.29), a tree reduction (3.09).
 * `rows` matvec (opt-in): threads split K and reuse x over 8 rows: 3.05 TB/s.
 * All variants fit the portable limits (256 invocations, ≤ 32 KiB workgroup memory).
 */
import type { TypedArray } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import { type BufferBinding, type DeviceCaps, grid, type Kernel, type Program, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type MatmulParams, matmulRef } from './matmul.ref.js';
import { MATVEC_ROWS_V3, matvecRowsWgsl } from './matvec-rows.wgsl.js';
import { MATVEC_DEFAULT_SHAPE, MATVEC_MAX_M, matvecWgsl } from './matvec.wgsl.js';
import { TILE_LARGE, TILE_SMALL, type TileConfig, tiledMatmulWgsl, tiledWorkgroupBytes, tileThreads } from './matmul.wgsl.js';

const U = defineUniforms({
  M: 'u32',
  N: 'u32',
  K: 'u32',
  ldc: 'u32',
  strideA: 'u32',
  strideB: 'u32',
  strideC: 'u32',
  batch: 'u32',
  kSplit: 'u32',
});

function buffers(bDtype: MatmulParams['bDtype']): BufferBinding[] {
  return [
    { name: 'a', access: 'read', type: 'f32' },
    { name: 'b', access: 'read', type: bDtype === 'f32' ? 'f32' : 'u32' },
    { name: 'c', access: 'read_write', type: 'f32' },
  ];
}

/**
 * Fewest 128² tiles for which `auto` takes the large tile. bench/matmul-variants (H200, 132 SMs): at
 * 128 tiles (one wave) the large tile won every training-step GEMM, 4096 × 512 × 512 82 against 89 µs,
 * 4096 × 512 × 1536 236 against 275, the split-K weight gradient 8 × 512² × 512 69 against 89 (the
 * threshold was 256 before).
 */
const LARGE_TILES_MIN = 128;

/** 128² output tiles of a call over its batch (and split-K parts). */
const tiles128 = (p: MatmulParams): number => Math.ceil(p.M / 128) * Math.ceil(p.N / 128) * p.batch * (p.splitK ?? 1);

/**
 * 64 × 128 tiles of 128 threads (8 × 8 outputs a thread, four workgroups an SM) for dY·W over a short K
 * at two to eight waves of 128² tiles: bench/matmul-variants --tiles (H200) took the SwiGLU's down input
 * gradient 4096 × 1536 × 512 in 200 µs against the padded BK 8 128² tile's 219, in two sessions.
 */
const TILE_64x128: TileConfig = { ...TILE_LARGE, BM: 64, pad: true };

/**
 * The 128² tile of a call: with B transposed (x·Wᵀ, nn.Linear's forward) its rows padded in workgroup
 * memory (B and a non-transposed A are both transposed on their way in; padding spreads their scalar
 * stores over the banks). bench/matmul-variants (H200): the LM head's 4096 × 32000 × 512 3.98 against
 * 4.30 ms, 4096 × 512 × 512 78.6 against 81.9 µs, 4096 × 1536 × 512 272 against 285 µs; without a
 * transposed B it did not pay (4096³ 3.87 against 3.83 ms). K slices of 8 (padded) for two to eight
 * waves of tiles over a short K (≤ 512, A not transposed): 4096 × 1536 × 512 x·Wᵀ 216 against 272 µs,
 * dY·W 220 against 249, the same in two sessions; at one wave (4096 × 512 × 512: 85 against 79), many
 * waves (the LM head: 4.05 against 3.99 ms) or a long K (4096³: 4.31 against 3.83 ms) they lose.
 */
const largeTile = (p: MatmulParams): TileConfig => {
  const tiles = tiles128(p);
  const shortK = !p.transA && kSplitOf(p) <= 512 && tiles >= 256 && tiles < 1024;
  // batched dY·W (the fused layout's stacked parts) keeps BK 8: its one run of 64 × 128 was too unsteady to decide on
  if (shortK && !p.transB && p.batch === 1) return TILE_64x128;
  if (shortK) return { ...TILE_LARGE, pad: true, BK: 8 };
  return p.transB ? { ...TILE_LARGE, pad: true } : TILE_LARGE;
};

/** Split-K applies below this many 128² output tiles (one wave of a 132-SM GPU). */
const SPLIT_TILES_BELOW = 132;
/** Split-K aims at no more than this many tiles (two waves) ... */
const SPLIT_TILES_TARGET = 264;
/** ... with at least this much of K a part. */
const SPLIT_MIN_K = 768;

/**
 * The split-K parts the tensor op asks for by default (1: none): a call of fewer than one wave of
 * 128² tiles over a long enough K is split in two, four, … until two waves. bench/matmul-split
 * (H200, de73455; the op's time, the parts' sum included), 4096 × 512 outputs (128 tiles): K 32000
 * 3.78 ms split in 2 against 4.97 (4 and 8 parts 3.81); K 1536 199–207 against 222–224 µs (4 parts
 * 226–232); K 512 85–87 against 77–80 µs, so K stays whole below 2 × 768.
 */
export function matmulSplitK(p: MatmulParams): number {
  const whole = { ...p, splitK: 1 };
  if (matmulVariant(whole) === 'matvec') return 1;
  const tiles = tiles128(whole);
  if (tiles >= SPLIT_TILES_BELOW) return 1;
  let s = 1;
  while (s < 16 && tiles * s * 2 <= SPLIT_TILES_TARGET && p.K / (s * 2) >= SPLIT_MIN_K) s *= 2;
  return s;
}

/** The variant `auto` picks: matvec for decode shapes, small tiles when large ones leave SMs idle. */
export function matmulVariant(p: MatmulParams): 'tiled' | 'tiledSmall' | 'matvec' {
  if (p.variant && p.variant !== 'auto') return p.variant;
  if ((p.splitK ?? 1) === 1 && p.transB && p.M * p.batch <= MATVEC_MAX_M && (p.strideB === 0 || p.batch === 1)) return 'matvec';
  return tiles128(p) >= LARGE_TILES_MIN ? 'tiled' : 'tiledSmall';
}

/** Split-K parts of a call (1: none), checked. */
function splitsOf(p: MatmulParams): number {
  const s = p.splitK ?? 1;
  if (!Number.isInteger(s) || s < 1) throw new ArgumentError(`matmul: splitK must be an integer ≥ 1, got ${s}`);
  return s;
}

/** K per split-K part: ⌈K / S⌉ (the last part takes what is left, possibly nothing). */
const kSplitOf = (p: MatmulParams): number => Math.ceil(p.K / splitsOf(p));

/**
 * The reference with splitK: part s of C (offset (s·batch + b)·strideC) is the product over K range s,
 * computed by the plain reference on copies of those K columns / rows.
 */
function splitRef(arrays: TypedArray[], p: MatmulParams): void {
  const S = splitsOf(p);
  if (S === 1) {
    matmulRef(arrays, p);
    return;
  }
  const [a, b, c] = arrays;
  const ks = kSplitOf(p);
  const bBatches = p.strideB === 0 ? 1 : p.batch;
  for (let s = 0; s < S; s++) {
    const k0 = Math.min(p.K, s * ks);
    const kn = Math.min(p.K, k0 + ks) - k0;
    const sa = sliceK(a, p.batch, p.strideA, p.transA, p.M, p.K, k0, kn);
    const sb = sliceK(b, bBatches, p.strideB, !p.transB, p.N, p.K, k0, kn);
    const part = c.subarray(s * p.batch * p.strideC);
    if (kn === 0) {
      const ldc = p.ldc ?? p.N;
      for (let z = 0; z < p.batch; z++) for (let m = 0; m < p.M; m++) part.fill(0, z * p.strideC + m * ldc, z * p.strideC + m * ldc + p.N);
      continue;
    }
    matmulRef([sa, sb, part], { ...p, K: kn, splitK: 1, strideA: p.M * kn, strideB: p.strideB === 0 ? 0 : p.N * kn });
  }
}

/** K range [k0, k0 + kn) of `batches` matrices of `rows` × K (kMajor: stored [K][rows]), packed. */
function sliceK(x: TypedArray, batches: number, stride: number, kMajor: boolean, rows: number, K: number, k0: number, kn: number): TypedArray {
  const out = new (x.constructor as new (n: number) => TypedArray)(batches * rows * kn);
  for (let z = 0; z < batches; z++) {
    const o = z * stride;
    if (kMajor) out.set(x.subarray(o + k0 * rows, o + (k0 + kn) * rows), z * rows * kn);
    else for (let r = 0; r < rows; r++) out.set(x.subarray(o + r * K + k0, o + r * K + k0 + kn), (z * rows + r) * kn);
  }
  return out;
}

function checkedGrid(g: [number, number, number], caps: DeviceCaps): [number, number, number] {
  if (g.some((d) => d > caps.maxWorkgroupsPerDim)) {
    throw new RangeError(`matmul: grid ${g.join('×')} exceeds ${caps.maxWorkgroupsPerDim} workgroups per dimension`);
  }
  return g;
}

const pick = ({ M, N, K, strideA, strideB, strideC }: MatmulParams) => ({ M, N, K, strideA, strideB, strideC });

function tiledProgram(p: MatmulParams, tile: TileConfig, name: string, caps: DeviceCaps): Program {
  const t = `${tile.BM}x${tile.BN}x${tile.BK}:${tile.TM}x${tile.TN}:${tile.double === false ? 's' : 'd'}${tile.unrollK ? 'u' : 'l'}${tile.pad === false ? 'n' : 'p'}${tile.warp4x8 ? 'w' : ''}`;
  const wg = tileThreads(tile);
  if (wg > caps.maxInvocations || wg % 32 !== 0 || (tile.BM * tile.BK) % wg !== 0 || (tile.BN * tile.BK) % wg !== 0) {
    throw new RangeError(`matmul: tile ${JSON.stringify(tile)} needs ${wg} threads, a multiple of 32 within ${caps.maxInvocations} that divides its loads`);
  }
  const smem = tiledWorkgroupBytes({ tile, transA: p.transA, transB: p.transB, bDtype: p.bDtype });
  if (smem > caps.maxWorkgroupStorage) {
    throw new RangeError(`matmul: tile ${t} needs ${smem} bytes of workgroup memory, the device has ${caps.maxWorkgroupStorage}`);
  }
  const split = splitsOf(p) > 1;
  const key = `matmul:${name}:${t}:${p.transA ? 't' : 'n'}${p.transB ? 't' : 'n'}:${p.bDtype}${split ? ':split' : ''}`;
  const bufs = buffers(p.bDtype);
  return {
    key,
    code: () =>
      tiledMatmulWgsl(
        { tile, transA: p.transA, transB: p.transB, bDtype: p.bDtype, split },
        `${U.wgsl('U')}\n${wgslBindings(bufs, 'U')}`,
      ),
    buffers: bufs,
    uniforms: U.pack({ ...pick(p), ldc: p.ldc ?? p.N, batch: p.batch, kSplit: kSplitOf(p) }),
    workgroups: checkedGrid([Math.ceil(p.N / tile.BN), Math.ceil(p.M / tile.BM), p.batch * splitsOf(p)], caps),
  };
}

function matvecProgram(p: MatmulParams, caps: DeviceCaps): Program {
  const rows = p.M * p.batch;
  if (rows > MATVEC_MAX_M) throw new RangeError(`matvec: ${rows} rows > ${MATVEC_MAX_M}`);
  const vec = p.K % (p.bDtype === 'f32' ? 4 : 8) === 0;
  const shape = p.matvecShape ?? MATVEC_DEFAULT_SHAPE;
  const spec = { bDtype: p.bDtype, vec, M: rows, shape };
  // v3 keeps ROWS·M partial sums per thread in workgroup memory: only where that fits.
  const v3 = vec && p.matvec === 'rows' && MATVEC_ROWS_V3 * rows * 1024 <= caps.maxWorkgroupStorage;
  return {
    key: `matmul:matvec:${v3 ? 'rows' : `lanes${shape.wg}x${shape.rows}x${shape.unroll}${shape.reduce}`}:${p.bDtype}:${vec ? 'v' : 's'}:m${rows}`,
    code: () => (v3 ? matvecRowsWgsl(spec, U.wgsl('U')) : matvecWgsl(spec, U.wgsl('U'))),
    buffers: buffers(p.bDtype),
    uniforms: U.pack({ M: rows, N: p.N, K: p.K, ldc: p.ldc ?? p.N, strideA: 0, strideB: 0, strideC: 0, batch: 1, kSplit: p.K }),
    workgroups: grid(Math.ceil(p.N / (v3 ? MATVEC_ROWS_V3 : shape.rows)), caps),
  };
}

export const matmul: Kernel<MatmulParams> = {
  name: 'matmul',
  ref: splitRef,
  program(p, caps) {
    const v = matmulVariant(p);
    if (v === 'matvec') {
      if (splitsOf(p) > 1) throw new ArgumentError('matmul: splitK applies to the tiled variants, not matvec');
      return matvecProgram(p, caps);
    }
    return v === 'tiled' ? tiledProgram(p, p.tile ?? largeTile(p), 'tiled', caps) : tiledProgram(p, TILE_SMALL, 'small', caps);
  },
};
