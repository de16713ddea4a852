/**
 * matmul: C = op(A) · op(B), batched, either operand transposed, B in f32 or packed f16/bf16.
 * v1 tiled: 128×128×16 tiles, 256 threads with 8×8 outputs each, register prefetch of the next K
 *    slice (TILE_LARGE); 64×64 tiles with 4×4 per thread for small problems (TILE_SMALL).
 * v1 matvec: decode rows (M·batch ≤ 8) against an [N, K] weight: 16-byte loads, 64 threads a row.
 * v2 matvec: 32 threads a row, 8 loads in flight, M compiled in, vec4 x, one-barrier reduction
 *    (1.03 → see docs/benchmarks.md TB/s on the H200).
 * v2 tiled: fully unrolled template (named accumulators) instead of arrays indexed in loops.
 * Both fit the portable limits (256 invocations, ≤ 32 KiB workgroup memory), so one program serves
 * browsers, SwiftShader and the H200.
 */
import { type BufferBinding, type DeviceCaps, grid, type Kernel, type Program, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type MatmulParams, matmulRef } from './matmul.ref.js';
import { MATVEC_MAX_M, MATVEC_ROWS_PER_WG, matvecWgsl } from './matvec.wgsl.js';
import { TILE_LARGE, TILE_SMALL, type TileConfig, tiledMatmulWgsl } from './matmul.wgsl.js';

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

/** The variant `auto` picks: matvec for decode shapes, small tiles when large ones leave SMs idle. */
export function matmulVariant(p: MatmulParams): 'tiled' | 'tiledSmall' | 'matvec' {
  if (p.variant && p.variant !== 'auto') return p.variant;
  if (p.transB && p.M * p.batch <= MATVEC_MAX_M && (p.strideB === 0 || p.batch === 1)) return 'matvec';
  const largeTiles = Math.ceil(p.M / 128) * Math.ceil(p.N / 128) * p.batch;
  return largeTiles >= 256 ? 'tiled' : 'tiledSmall';
}

function checkedGrid(g: [number, number, number], caps: DeviceCaps): [number, number, number] {
  if (g.some((d) => d > caps.maxWorkgroupsPerDim)) {
    throw new RangeError(`matmul: grid ${g.join('×')} exceeds ${caps.maxWorkgroupsPerDim} workgroups per dimension`);
  }
  return g;
}

const pick = ({ M, N, K, strideA, strideB, strideC }: MatmulParams) => ({ M, N, K, strideA, strideB, strideC });

function tiledProgram(p: MatmulParams, tile: TileConfig, name: string, caps: DeviceCaps): Program {
  const t = `${tile.BM}x${tile.BN}x${tile.BK}:${tile.TM}x${tile.TN}`;
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
  return {
    key: `matmul:matvec:${p.bDtype}:${vec ? 'v' : 's'}:m${rows}`,
    code: () => matvecWgsl({ bDtype: p.bDtype, vec, M: rows }, U.wgsl('U')),
    buffers: buffers(p.bDtype),
    uniforms: U.pack({ M: rows, N: p.N, K: p.K, ldc: p.ldc ?? p.N, strideA: 0, strideB: 0, strideC: 0 }),
    workgroups: grid(Math.ceil(p.N / MATVEC_ROWS_PER_WG), caps),
  };
}

export const matmul: Kernel<MatmulParams> = {
  name: 'matmul',
  ref: matmulRef,
  program(p, caps) {
    const v = matmulVariant(p);
    if (v === 'matvec') return matvecProgram(p, caps);
    return v === 'tiled' ? tiledProgram(p, p.tile ?? TILE_LARGE, 'tiled', caps) : tiledProgram(p, TILE_SMALL, 'small', caps);
  },
};
