/**
 * matmul: C = op(A) · op(B), batched, either operand transposed, B in f32 or packed f16/bf16.
 * Numbers: f32 4096³ / bf16 decode matvec 1×4096·(14336×4096)ᵀ on the H200 (docs/benchmarks.md).
 * v1 tiled: 128×128×16 tiles, 8×8 outputs per thread, arrays indexed in loops: 24 TFLOP/s.
 * v2 tiled: template unrolled in TypeScript (named accumulators), BK 8: 30 TFLOP/s.
 * v3 tiled (default): BK 4, each warp 4×8 thread tiles (fewer shared-memory wavefronts): 35.7;
 *    with B transposed, its rows padded in workgroup memory (largeTile).
 *    Tried and slower here: double buffering, unrolled k, 128×256 / 256×128 tiles, BK 2 and 16.
 * tiledSmall: 64×64×16 tiles, 4×4 per thread, when 128² tiles would leave the GPU idle (fewer than
 *    LARGE_TILES_MIN of them).
 * v1 matvec: 64 threads a row, M read from uniforms: 1.03 TB/s of weights.
 * v2 matvec: M compiled in, vec4 x, 8 loads in flight, one-barrier reduction: 2.4 (3.0 GPU-timed).
 * v3 matvec (default `lanes` shape): 4 rows per 256-thread workgroup: 3.33–3.51 TB/s across runs
 *    (78–83% of copy). Slower in the same run: 2 rows a 128-thread workgroup (3.14), 1 row a 64-thread
 *    one (2.80), 128 threads a row with 4 loads each (2.84), 8 rows (3.29), a tree reduction (3.09).
 * `rows` matvec (opt-in): threads split K and reuse x over 8 rows: 3.05 TB/s.
 * All variants fit the portable limits (256 invocations, ≤ 32 KiB workgroup memory).
 */
import { type BufferBinding, type DeviceCaps, grid, type Kernel, type Program, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type MatmulParams, matmulRef } from './matmul.ref.js';
import { MATVEC_ROWS_V3, matvecRowsWgsl } from './matvec-rows.wgsl.js';
import { MATVEC_DEFAULT_SHAPE, MATVEC_MAX_M, matvecWgsl } from './matvec.wgsl.js';
import { TILE_LARGE, TILE_SMALL, type TileConfig, tiledMatmulWgsl, tiledWorkgroupBytes } from './matmul.wgsl.js';

const U = defineUniforms({
  M: 'u32',
  N: 'u32',
  K: 'u32',
  ldc: 'u32',
  strideA: 'u32',
  strideB: 'u32',
  strideC: 'u32',
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
  const tiles = Math.ceil(p.M / 128) * Math.ceil(p.N / 128) * p.batch;
  if (!p.transA && p.K <= 512 && tiles >= 256 && tiles < 1024) return { ...TILE_LARGE, pad: true, BK: 8 };
  return p.transB ? { ...TILE_LARGE, pad: true } : TILE_LARGE;
};

/** The variant `auto` picks: matvec for decode shapes, small tiles when large ones leave SMs idle. */
export function matmulVariant(p: MatmulParams): 'tiled' | 'tiledSmall' | 'matvec' {
  if (p.variant && p.variant !== 'auto') return p.variant;
  if (p.transB && p.M * p.batch <= MATVEC_MAX_M && (p.strideB === 0 || p.batch === 1)) return 'matvec';
  const largeTiles = Math.ceil(p.M / 128) * Math.ceil(p.N / 128) * p.batch;
  return largeTiles >= LARGE_TILES_MIN ? 'tiled' : 'tiledSmall';
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
  const smem = tiledWorkgroupBytes({ tile, transA: p.transA, transB: p.transB, bDtype: p.bDtype });
  if (smem > caps.maxWorkgroupStorage) {
    throw new RangeError(`matmul: tile ${t} needs ${smem} bytes of workgroup memory, the device has ${caps.maxWorkgroupStorage}`);
  }
  const key = `matmul:${name}:${t}:${p.transA ? 't' : 'n'}${p.transB ? 't' : 'n'}:${p.bDtype}`;
  const bufs = buffers(p.bDtype);
  return {
    key,
    code: () =>
      tiledMatmulWgsl(
        { tile, transA: p.transA, transB: p.transB, bDtype: p.bDtype },
        `${U.wgsl('U')}\n${wgslBindings(bufs, 'U')}`,
      ),
    buffers: bufs,
    uniforms: U.pack({ ...pick(p), ldc: p.ldc ?? p.N }),
    workgroups: checkedGrid([Math.ceil(p.N / tile.BN), Math.ceil(p.M / tile.BM), p.batch], caps),
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
    uniforms: U.pack({ M: rows, N: p.N, K: p.K, ldc: p.ldc ?? p.N, strideA: 0, strideB: 0, strideC: 0 }),
    workgroups: grid(Math.ceil(p.N / (v3 ? MATVEC_ROWS_V3 : shape.rows)), caps),
  };
}

export const matmul: Kernel<MatmulParams> = {
  name: 'matmul',
  ref: matmulRef,
  program(p, caps) {
    const v = matmulVariant(p);
    if (v === 'matvec') return matvecProgram(p, caps);
    return v === 'tiled' ? tiledProgram(p, p.tile ?? largeTile(p), 'tiled', caps) : tiledProgram(p, TILE_SMALL, 'small', caps);
  },
};
