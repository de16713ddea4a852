import { bf16ToF32, f16ToF32, type MatmulParams, matmul as matmulKernel, matmulSplitK, packHalf } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend.js';
import { CpuBackend } from '../cpu/cpu-backend.js';
import { Tensor } from '../tensor.js';
import { EPS32, expectClose, freshSeed, randF32, testBackends } from '../test-utils/index.js';
import { WebGpuBackend } from '../webgpu/webgpu-backend.js';
import { matmul } from './matmul.js';

/** Float64 oracle: C[b,m,n] = Σ_k A[b,m,k]·B[b,k,n], also returning Σ_k |A||B| for the tolerance. */
function oracle(a: Float64Array, b: Float64Array, batch: number, M: number, N: number, K: number, tA: boolean, tB: boolean, bBatched: boolean, aBatched = true) {
  const c = new Float64Array(batch * M * N);
  const mag = new Float64Array(batch * M * N);
  for (let bi = 0; bi < batch; bi++) {
    const oa = aBatched ? bi * M * K : 0;
    const ob = bBatched ? bi * K * N : 0;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        let g = 0;
        for (let k = 0; k < K; k++) {
          const x = a[oa + (tA ? k * M + m : m * K + k)] * b[ob + (tB ? n * K + k : k * N + n)];
          s += x;
          g += Math.abs(x);
        }
        c[bi * M * N + m * N + n] = s;
        mag[bi * M * N + m * N + n] = g;
      }
    }
  }
  return { c, mag };
}

interface Case {
  batch: number;
  M: number;
  N: number;
  K: number;
  tA?: boolean;
  tB?: boolean;
  bBatched?: boolean;
  /** false: a 2-D A broadcast against the batch of B */
  aBatched?: boolean;
  dtype?: 'f32' | 'bf16' | 'f16';
  variant?: MatmulParams['variant'];
  tile?: MatmulParams['tile'];
  matvec?: MatmulParams['matvec'];
  matvecShape?: MatmulParams['matvecShape'];
  splitK?: number;
}

async function check(be: Backend, c: Case): Promise<void> {
  const { batch, M, N, K, tA = false, tB = false, bBatched = true, aBatched = true, dtype = 'f32' } = c;
  const seed = freshSeed();
  const av = randF32((aBatched ? batch : 1) * M * K, seed);
  let bv = randF32((bBatched ? batch : 1) * K * N, seed + 1);
  let bTensorData: Float32Array | Uint16Array = bv;
  if (dtype !== 'f32') {
    const bits = packHalf(bv, dtype).subarray(0, bv.length);
    bv = Float32Array.from(bits, (h) => (dtype === 'bf16' ? bf16ToF32(h) : f16ToF32(h)));
    bTensorData = bits;
  }
  const aShape = batch > 1 && aBatched ? [batch, ...(tA ? [K, M] : [M, K])] : tA ? [K, M] : [M, K];
  const bMat = tB ? [N, K] : [K, N];
  const bShape = bBatched && batch > 1 ? [batch, ...bMat] : bMat;
  const A = Tensor.from(be, av, aShape);
  const B = Tensor.from(be, bTensorData, bShape, dtype);
  const C = matmul(A, B, { transA: tA, transB: tB, variant: c.variant, tile: c.tile, matvec: c.matvec, matvecShape: c.matvecShape, splitK: c.splitK });
  const got = await C.data();
  const { c: want, mag } = oracle(Float64Array.from(av), Float64Array.from(bv), batch, M, N, K, tA, tB, bBatched && batch > 1, aBatched);
  expectClose(got, want, (i) => 2 * EPS32 * K * mag[i] + 1e-30, `${JSON.stringify(c)} seed=${seed}`);
  expect(C.shape).toEqual(batch > 1 ? [batch, M, N] : [M, N]);
  for (const t of [A, B, C]) t.dispose();
}

const CASES: Case[] = [
  { batch: 1, M: 1, N: 1, K: 1 },
  { batch: 1, M: 3, N: 5, K: 7 },
  { batch: 1, M: 61, N: 127, K: 33, tA: true },
  { batch: 1, M: 67, N: 29, K: 131, tB: true },
  { batch: 1, M: 70, N: 66, K: 17, tA: true, tB: true },
  { batch: 3, M: 13, N: 31, K: 19 },
  { batch: 4, M: 9, N: 10, K: 11, bBatched: false, tB: true },
  { batch: 2, M: 9, N: 10, K: 11, bBatched: false, tA: true },
  // one 2-D A against a batch of B (fused projections): x·Wᵀ on both tiles, Aᵀ, split-K
  { batch: 3, M: 13, N: 31, K: 19, aBatched: false, tB: true },
  { batch: 2, M: 131, N: 67, K: 21, aBatched: false, tB: true, variant: 'tiled' },
  { batch: 3, M: 9, N: 10, K: 130, aBatched: false, tA: true, splitK: 3 },
  { batch: 2, M: 5, N: 7, K: 3, aBatched: false },
  { batch: 1, M: 130, N: 257, K: 129, variant: 'tiled' },
  { batch: 2, M: 129, N: 131, K: 47, tA: true, tB: true, variant: 'tiled' },
  // x·Wᵀ on the default large tile (B transposed: padded rows)
  { batch: 1, M: 131, N: 133, K: 23, tB: true, variant: 'tiled' },
  { batch: 1, M: 131, N: 259, K: 21, tB: true, variant: 'tiled', tile: { BM: 128, BN: 256, BK: 4, TM: 8, TN: 16, warp4x8: true } },
  { batch: 1, M: 259, N: 67, K: 9, variant: 'tiled', tile: { BM: 256, BN: 128, BK: 2, TM: 16, TN: 8, warp4x8: true } },
  { batch: 1, M: 133, N: 67, K: 19, tA: true, variant: 'tiled', tile: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, double: false, unrollK: true, pad: false } },
  // the padded BK 8 tile `auto` takes for two to eight waves over a short K (x·Wᵀ and dY·W)
  { batch: 1, M: 131, N: 133, K: 29, tB: true, variant: 'tiled', tile: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, double: false, pad: true, warp4x8: true } },
  { batch: 1, M: 135, N: 130, K: 21, variant: 'tiled', tile: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, double: false, pad: true, warp4x8: true } },
  { batch: 1, M: 33, N: 70, K: 45, dtype: 'bf16' },
  { batch: 1, M: 65, N: 31, K: 37, tB: true, dtype: 'f16', variant: 'tiled' },
  // decode matrix-vector path: vector loads (K % 8 == 0) and the scalar fallback
  { batch: 1, M: 1, N: 515, K: 264, tB: true, dtype: 'bf16' },
  { batch: 1, M: 8, N: 77, K: 131, tB: true, dtype: 'bf16' },
  { batch: 1, M: 3, N: 33, K: 1000, tB: true, dtype: 'f16' },
  { batch: 5, M: 1, N: 127, K: 68, tB: true, bBatched: false },
  { batch: 1, M: 2, N: 9, K: 7, tB: true },
  { batch: 1, M: 2, N: 37, K: 136, tB: true, dtype: 'bf16', matvecShape: { wg: 256, rows: 8, unroll: 8, reduce: 'serial' } },
  { batch: 1, M: 1, N: 41, K: 520, tB: true, matvecShape: { wg: 128, rows: 2, unroll: 4, reduce: 'tree' } },
  // bench/matmul's candidate shapes (one row a workgroup; 128 threads a row; split reductions)
  { batch: 1, M: 1, N: 43, K: 1032, tB: true, dtype: 'bf16', matvecShape: { wg: 128, rows: 2, unroll: 8, reduce: 'split' } },
  { batch: 1, M: 1, N: 5, K: 2056, tB: true, dtype: 'bf16', matvecShape: { wg: 64, rows: 1, unroll: 8, reduce: 'split' } },
  { batch: 1, M: 3, N: 9, K: 1000, tB: true, dtype: 'bf16', matvecShape: { wg: 256, rows: 2, unroll: 4, reduce: 'split' } },
  { batch: 1, M: 3, N: 29, K: 264, tB: true, dtype: 'f16', matvec: 'rows' },
  // 128-thread workgroups: 64 × 128 and 128 × 64 tiles of 8 × 8 a thread
  { batch: 1, M: 67, N: 131, K: 29, tB: true, variant: 'tiled', tile: { BM: 64, BN: 128, BK: 4, TM: 8, TN: 8, double: false, pad: true, warp4x8: true } },
  { batch: 2, M: 133, N: 70, K: 19, tA: true, variant: 'tiled', tile: { BM: 128, BN: 64, BK: 8, TM: 8, TN: 8, double: false, pad: false, warp4x8: true } },
  { batch: 1, M: 65, N: 129, K: 37, variant: 'tiled', tile: { BM: 64, BN: 128, BK: 8, TM: 8, TN: 8, double: false, pad: true, warp4x8: true } },
  // the one `auto` takes for dY·W over a short K at two to eight waves of 128² tiles
  { batch: 1, M: 131, N: 135, K: 23, variant: 'tiled', tile: { BM: 64, BN: 128, BK: 4, TM: 8, TN: 8, double: false, pad: true, warp4x8: true } },
  // split-K: parts of ⌈K / S⌉ summed in order (K not a multiple of S or of BK, an empty last part,
  // both tiles, transposed operands, a broadcast B, a bf16 B, M = 1 that would otherwise be matvec)
  { batch: 1, M: 131, N: 67, K: 129, tB: true, splitK: 2 },
  { batch: 1, M: 70, N: 133, K: 43, splitK: 3, variant: 'tiled' },
  { batch: 2, M: 33, N: 65, K: 7, tA: true, splitK: 3 },
  { batch: 3, M: 19, N: 23, K: 2, tA: true, tB: true, splitK: 3 },
  { batch: 4, M: 9, N: 10, K: 101, bBatched: false, tB: true, splitK: 4 },
  { batch: 1, M: 1, N: 77, K: 90, tB: true, dtype: 'bf16', splitK: 2 },
  { batch: 1, M: 129, N: 131, K: 300, tB: true, splitK: 2, variant: 'tiled', tile: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, double: false, pad: true, warp4x8: true } },
];

describe.each(testBackends())('matmul on %s', (_name, make) => {
  it.each(CASES.map((c) => [JSON.stringify(c), c] as const))('%s', async (_label, c) => {
    await check(await make(), c);
  });

  it('multiplies through a transposed view without a copy and gives the same result', async () => {
    const be = await make();
    const av = randF32(20 * 9, freshSeed());
    const A = Tensor.from(be, av, [20, 9]);
    const At = A.transpose();
    const I = Tensor.from(be, Array.from({ length: 400 }, (_, i) => (i % 21 === 0 ? 1 : 0)), [20, 20]);
    const got = await matmul(At, I).data();
    const want = new Float32Array(9 * 20);
    for (let i = 0; i < 9; i++) for (let j = 0; j < 20; j++) want[i * 20 + j] = av[j * 9 + i];
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it('auto: from 256 to 1023 tiles of 128² over K ≤ 512 (A not transposed), 64 × 128 tiles of 128 threads for one dY·W and the padded BK 8 tile otherwise; BK 4 elsewhere', async () => {
    const be = await make();
    const program = (o: Partial<MatmulParams>) =>
      matmulKernel.program({ batch: 1, M: 4096, N: 1536, K: 512, transA: false, transB: true, bDtype: 'f32', strideA: 0, strideB: 0, strideC: 0, ...o }, be.caps);
    const key = (o: Partial<MatmulParams>) => program(o).key;
    expect(key({})).toContain(':128x128x8:');
    expect(key({ transB: false })).toContain(':64x128x4:8x8:slpw');
    expect(program({ transB: false }).workgroups).toEqual([12, 64, 1]);
    expect(key({ transB: false, batch: 2, M: 2048 })).toContain(':128x128x8:');
    for (const o of [{ N: 512 }, { N: 32000 }, { K: 4096 }, { transA: true }]) expect(key(o)).toContain(':128x128x4:');
  });

  it('auto: split-K below one wave of 128² tiles over K ≥ 1536, in two, four, … up to two waves', async () => {
    const be = await make();
    const parts = (o: Partial<MatmulParams>) =>
      matmulSplitK({ batch: 1, M: 4096, N: 512, K: 512, transA: false, transB: true, bDtype: 'f32', strideA: 0, strideB: 0, strideC: 0, ...o });
    expect(parts({ K: 1536 })).toBe(2);
    expect(parts({ K: 32000 })).toBe(2);
    expect(parts({ M: 1024, K: 32000 })).toBe(8);
    expect(parts({})).toBe(1);
    expect(parts({ K: 1535 })).toBe(1);
    expect(parts({ N: 1536 })).toBe(1);
    expect(parts({ batch: 4, N: 1536, K: 4096 })).toBe(1);
    expect(parts({ M: 1 })).toBe(1);
    // a split call's program: workgroups over the parts, its own WGSL (the unsplit one keeps K whole)
    const p: MatmulParams = { batch: 1, M: 4096, N: 512, K: 512, transA: false, transB: true, bDtype: 'f32', strideA: 0, strideB: 0, strideC: 4096 * 512 };
    expect(matmulKernel.program({ ...p, splitK: 2 }, be.caps).workgroups).toEqual([4, 32, 2]);
    expect(matmulKernel.program({ ...p, splitK: 2 }, be.caps).key).toMatch(/:split$/);
    expect(matmulKernel.program(p, be.caps).key).not.toMatch(/split/);
    expect(() => matmulKernel.program({ ...p, M: 1, splitK: 2, variant: 'matvec' }, be.caps)).toThrow(/splitK/);
    const A = Tensor.from(be, new Float32Array(6), [2, 3]);
    expect(() => matmul(A, A, { transB: true, splitK: 0 })).toThrow(/splitK must be an integer/);
  });

  it('names the op and the shapes on bad input', async () => {
    const be = await make();
    const A = Tensor.from(be, new Float32Array(6), [2, 3]);
    const B = Tensor.from(be, new Float32Array(20), [4, 5]);
    expect(() => matmul(A, B)).toThrow(/matmul: A \[2, 3\] · B \[4, 5\]: inner dimensions 3 ≠ 4/);
    const I = Tensor.from(be, [1, 2, 3], [3, 1], 'i32');
    expect(() => matmul(I, B)).toThrow(expect.objectContaining({ code: 'E_DTYPE' }));
    const other = new CpuBackend();
    const X = Tensor.from(other, new Float32Array(15), [3, 5]);
    expect(() => matmul(A, X)).toThrow(expect.objectContaining({ code: 'E_BACKEND' }));
  });
});

describe('matmul splits operands over the binding limit', () => {
  const small = 16 * 1024;
  const makers: [string, () => Promise<Backend>][] = [['cpu', async () => new CpuBackend({ maxBindingBytes: small, poison: true })]];
  if (process.env.HSA_SKIP_WEBGPU !== '1') {
    makers.push(['webgpu', () => WebGpuBackend.create({ maxBindingBytes: small, poison: true })]);
  }
  it.each(makers)('%s: A, B and C all over the limit', async (_n, make) => {
    const be = await make();
    await check(be, { batch: 1, M: 300, N: 290, K: 40, tB: true });
    await check(be, { batch: 1, M: 1, N: 1000, K: 64, tB: true, dtype: 'bf16' });
    await check(be, { batch: 1, M: 200, N: 30, K: 50 });
  });
});
