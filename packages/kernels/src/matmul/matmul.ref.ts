/**
 * matmulForward: C[b] = op(A[b]) · op(B[b]) with op = identity or transpose.
 *   A: [batch, M, K] (transA: [batch, K, M]), B: [batch, K, N] (transB: [batch, N, K]), C: [batch, M, N].
 *   Batch strides in elements; a stride of 0 broadcasts (one weight matrix for every batch entry).
 *   B may be packed f16/bf16 (a Uint16Array of raw bits); accumulation in the array type of C.
 * Every output is Σ_k in increasing k, rounded to C's array type after each step (f32 C:
 * acc = fround(acc + a·b) with a·b in f64); the versions below keep exactly that arithmetic.
 * v1 naive: for m, k, n: acc[n] += a·getB(i), B read through a closure, stride K under transB.
 * v2 (this file): the innermost loop is one contiguous dot over k. Bᵀ rows are decoded (f16/bf16) or
 *    gathered (not transB) a block of NB rows at a time into a scratch that stays in cache, Aᵀ is
 *    gathered once per batch entry; an all-f32 call runs 4 rows of A × 4 rows of B per pass with
 *    16 scalar accumulators (1024×256 · (4096×256)ᵀ bf16: ~12× faster than v1 on 2 cores);
 *    other array types (the float64 oracle in tests) take a plain dot over float64 scratch.
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
  /**
   * Split K into S ranges of ⌈K / S⌉ (default 1): C then receives S partial products, part s of batch
   * entry b at (s·batch + b)·strideC, which the caller sums (in order, so results are deterministic).
   * Tiled variants only; matmulVariant never picks matvec for S > 1 calls that pass `variant`.
   */
  splitK?: number;
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

/** All 65536 16-bit patterns decoded once (exact in f32). */
function halfTable(dtype: 'f16' | 'bf16'): Float32Array {
  let t = halfTables[dtype];
  if (!t) {
    const conv = dtype === 'bf16' ? bf16ToF32 : f16ToF32;
    t = halfTables[dtype] = Float32Array.from({ length: 65536 }, (_, h) => conv(h));
  }
  return t;
}

/** Bᵀ rows per block: NB·K f32 values ≈ 64 KiB, so a block stays in L2 while every row of A passes. */
const blockRows = (K: number) => Math.max(4, Math.floor(16384 / Math.max(K, 1)) & ~3);

/** Reusable scratch arrays (grown, never shrunk). */
const scratch = { f32: [new Float32Array(0), new Float32Array(0)], f64: [new Float64Array(0), new Float64Array(0)] };
function scratchOf<T extends Float32Array | Float64Array>(list: T[], i: number, n: number, make: (n: number) => T): T {
  if (list[i].length < n) list[i] = make(n);
  return list[i];
}

/** dst[(n − n0)·K + k] = Bᵀ[n, k] for n in [n0, n1): decoded f16/bf16 or gathered from [K, N]. */
function packB(b: TypedArray, ob: number, p: MatmulParams, n0: number, n1: number, dst: FloatArray): void {
  const { N, K } = p;
  const table = p.bDtype === 'f32' ? null : halfTable(p.bDtype);
  if (p.transB) {
    const src = b.subarray(ob + n0 * K, ob + n1 * K);
    if (!table) dst.set(src);
    else for (let i = 0; i < src.length; i++) dst[i] = table[src[i]];
    return;
  }
  for (let k = 0; k < K; k++) {
    const row = ob + k * N;
    for (let n = n0; n < n1; n++) dst[(n - n0) * K + k] = table ? table[b[row + n]] : b[row + n];
  }
}

/** dst[m·K + k] = A[m, k] from Aᵀ [K, M]. */
function packAt(a: TypedArray, oa: number, M: number, K: number, dst: FloatArray): void {
  for (let k = 0; k < K; k++) {
    const row = oa + k * M;
    for (let m = 0; m < M; m++) dst[m * K + k] = a[row + m];
  }
}

/** Σ_k a[ia + k]·b[ib + k], rounded to f32 after each step. */
function dotF32(a: Float32Array, ia: number, b: Float32Array, ib: number, K: number): number {
  let s = 0;
  for (let k = 0; k < K; k++) s = Math.fround(s + a[ia + k] * b[ib + k]);
  return s;
}

/** C[m, n..n+3] for one row of A (decode's M = 1, and the rows left over by tileF32). */
function row1x4(a: Float32Array, a0: number, b: Float32Array, b0: number, c: Float32Array, r: number, K: number): void {
  const b1 = b0 + K;
  const b2 = b1 + K;
  const b3 = b2 + K;
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0; // prettier-ignore
  for (let k = 0; k < K; k++) {
    const y = a[a0 + k];
    c0 = Math.fround(c0 + y * b[b0 + k]);
    c1 = Math.fround(c1 + y * b[b1 + k]);
    c2 = Math.fround(c2 + y * b[b2 + k]);
    c3 = Math.fround(c3 + y * b[b3 + k]);
  }
  c[r] = c0;
  c[r + 1] = c1;
  c[r + 2] = c2;
  c[r + 3] = c3;
}

/** C[m..m+3, n..n+3]: 16 scalar accumulators, 8 loads per 16 multiply-adds. */
function block4x4(a: Float32Array, a0: number, b: Float32Array, b0: number, c: Float32Array, r: number, ldc: number, K: number): void {
  const a1 = a0 + K, a2 = a1 + K, a3 = a2 + K; // prettier-ignore
  const b1 = b0 + K, b2 = b1 + K, b3 = b2 + K; // prettier-ignore
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0; // prettier-ignore
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0; // prettier-ignore
  for (let k = 0; k < K; k++) {
    const x0 = b[b0 + k], x1 = b[b1 + k], x2 = b[b2 + k], x3 = b[b3 + k]; // prettier-ignore
    const y0 = a[a0 + k], y1 = a[a1 + k], y2 = a[a2 + k], y3 = a[a3 + k]; // prettier-ignore
    c00 = Math.fround(c00 + y0 * x0); c01 = Math.fround(c01 + y0 * x1); c02 = Math.fround(c02 + y0 * x2); c03 = Math.fround(c03 + y0 * x3); // prettier-ignore
    c10 = Math.fround(c10 + y1 * x0); c11 = Math.fround(c11 + y1 * x1); c12 = Math.fround(c12 + y1 * x2); c13 = Math.fround(c13 + y1 * x3); // prettier-ignore
    c20 = Math.fround(c20 + y2 * x0); c21 = Math.fround(c21 + y2 * x1); c22 = Math.fround(c22 + y2 * x2); c23 = Math.fround(c23 + y2 * x3); // prettier-ignore
    c30 = Math.fround(c30 + y3 * x0); c31 = Math.fround(c31 + y3 * x1); c32 = Math.fround(c32 + y3 * x2); c33 = Math.fround(c33 + y3 * x3); // prettier-ignore
  }
  c[r] = c00; c[r + 1] = c01; c[r + 2] = c02; c[r + 3] = c03; r += ldc; // prettier-ignore
  c[r] = c10; c[r + 1] = c11; c[r + 2] = c12; c[r + 3] = c13; r += ldc; // prettier-ignore
  c[r] = c20; c[r + 1] = c21; c[r + 2] = c22; c[r + 3] = c23; r += ldc; // prettier-ignore
  c[r] = c30; c[r + 1] = c31; c[r + 2] = c32; c[r + 3] = c33; // prettier-ignore
}

/**
 * C[m, n] for all M rows and n in [n0, n1): A row m at ao + m·K, Bᵀ row n at bo + n·K; 4×4 blocks,
 * then 1×4 for the rows left over, then one dot per output for the columns left over.
 */
function tileF32(a: Float32Array, ao: number, b: Float32Array, bo: number, c: Float32Array, co: number, ldc: number, M: number, n0: number, n1: number, K: number): void {
  const n4 = n0 + ((n1 - n0) & ~3);
  let m = 0;
  for (; m + 4 <= M; m += 4) for (let n = n0; n < n4; n += 4) block4x4(a, ao + m * K, b, bo + n * K, c, co + m * ldc + n, ldc, K);
  for (; m < M; m++) for (let n = n0; n < n4; n += 4) row1x4(a, ao + m * K, b, bo + n * K, c, co + m * ldc + n, K);
  for (let n = n4; n < n1; n++) for (m = 0; m < M; m++) c[co + m * ldc + n] = dotF32(a, ao + m * K, b, bo + n * K, K);
}

/** tileF32 for any array types: one dot per output, rounded to f32 per step when C is f32. */
function tileAny(a: Float64Array, ao: number, b: Float64Array, bo: number, c: FloatArray, co: number, ldc: number, M: number, n0: number, n1: number, K: number): void {
  const f32 = c instanceof Float32Array;
  for (let m = 0; m < M; m++) {
    for (let n = n0; n < n1; n++) {
      const ia = ao + m * K;
      const ib = bo + n * K;
      let s = 0;
      if (f32) for (let k = 0; k < K; k++) s = Math.fround(s + a[ia + k] * b[ib + k]);
      else for (let k = 0; k < K; k++) s += a[ia + k] * b[ib + k];
      c[co + m * ldc + n] = s;
    }
  }
}

export function matmulRef([a, b, c]: TypedArray[], p: MatmulParams): void {
  const { M, N, K } = p;
  const ldc = p.ldc ?? N;
  // all-f32 calls (every CPU-backend call) run on Float32Array views; anything else on float64 scratch
  const fast = c instanceof Float32Array && a instanceof Float32Array && !(b instanceof Float64Array);
  const pool: FloatArray[] = fast ? scratch.f32 : scratch.f64;
  const make = fast ? (n: number) => new Float32Array(n) : (n: number) => new Float64Array(n);
  const NB = blockRows(K);
  const bDirect = fast && p.transB && p.bDtype === 'f32';
  for (let bi = 0; bi < p.batch; bi++) {
    const oa = bi * p.strideA;
    const ob = bi * p.strideB;
    const oc = bi * p.strideC;
    let aRows: FloatArray = a as FloatArray;
    let ao = oa;
    if (p.transA || !fast) {
      aRows = scratchOf(pool, 0, M * K, make);
      ao = 0;
      if (p.transA) packAt(a, oa, M, K, aRows);
      else aRows.set(a.subarray(oa, oa + M * K));
    }
    for (let n0 = 0; n0 < N; n0 += NB) {
      const n1 = Math.min(N, n0 + NB);
      let bRows: FloatArray = b as FloatArray;
      let bo = ob;
      if (!bDirect) {
        bRows = scratchOf(pool, 1, NB * K, make);
        bo = -n0 * K;
        packB(b, ob, p, n0, n1, bRows);
      }
      if (fast) tileF32(aRows as Float32Array, ao, bRows as Float32Array, bo, c, oc, ldc, M, n0, n1, K);
      else tileAny(aRows as Float64Array, ao, bRows as Float64Array, bo, c as FloatArray, oc, ldc, M, n0, n1, K);
    }
  }
}
