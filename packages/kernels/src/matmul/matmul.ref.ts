/**
 * matmulForward: C[b] = op(A[b]) · op(B[b]) with op = identity or transpose.
 *   A: [batch, M, K] (transA: [batch, K, M]), B: [batch, K, N] (transB: [batch, N, K]), C: [batch, M, N].
 *   Batch strides in elements; a stride of 0 broadcasts (one weight matrix for every batch entry).
 *   B may be packed f16/bf16 (a Uint16Array of raw bits); accumulation in the array type of C.
 */
import { bf16ToF32, f16ToF32, type FloatArray, type TypedArray } from '../core/dtype.js';

export interface MatmulParams {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  bDtype: 'f32' | 'f16' | 'bf16';
  strideA: number;
  strideB: number;
  strideC: number;
  /** Row stride of C in elements (default N): lets a column block of C be written in place. */
  ldc?: number;
  /** Force a GPU variant (benchmarks, tests); `auto` picks by shape and device. */
  variant?: 'auto' | 'tiled' | 'tiledSmall' | 'matvec';
  /** Matvec version: `lanes` (v2, default) or `rows` (v3); benchmarks compare them. */
  matvec?: 'rows' | 'lanes';
  /** Matvec `lanes` workgroup shape (benchmarks). */
  matvecShape?: { wg: number; rows: number; unroll: number; reduce: 'serial' | 'split' | 'tree' };
  /** Override the tile of the `tiled` variant (benchmarks). */
  tile?: { BM: number; BN: number; BK: number; TM: number; TN: number; double?: boolean; unrollK?: boolean; pad?: boolean; warp4x8?: boolean };
}

const halfTables: Partial<Record<'f16' | 'bf16', Float32Array>> = {};

/** All 65536 16-bit patterns decoded once (exact in f32): the inner loop reads B M times per element. */
function halfTable(dtype: 'f16' | 'bf16'): Float32Array {
  let t = halfTables[dtype];
  if (!t) {
    const conv = dtype === 'bf16' ? bf16ToF32 : f16ToF32;
    t = halfTables[dtype] = Float32Array.from({ length: 65536 }, (_, h) => conv(h));
  }
  return t;
}

function readerB(b: TypedArray, dtype: MatmulParams['bDtype']): (i: number) => number {
  if (dtype === 'f32') return (i) => b[i];
  const table = halfTable(dtype);
  return (i) => table[b[i]];
}

export function matmulRef([a, b, c]: TypedArray[], p: MatmulParams): void {
  const { M, N, K } = p;
  const getB = readerB(b, p.bDtype);
  const out = c as FloatArray;
  const acc = new (out.constructor as Float64ArrayConstructor)(N);
  for (let bi = 0; bi < p.batch; bi++) {
    const oa = bi * p.strideA;
    const ob = bi * p.strideB;
    const oc = bi * p.strideC;
    for (let m = 0; m < M; m++) {
      acc.fill(0);
      for (let k = 0; k < K; k++) {
        const av = a[oa + (p.transA ? k * M + m : m * K + k)];
        if (p.transB) for (let n = 0; n < N; n++) acc[n] += av * getB(ob + n * K + k);
        else for (let n = 0; n < N; n++) acc[n] += av * getB(ob + k * N + n);
      }
      out.set(acc, oc + m * (p.ldc ?? N));
    }
  }
}
