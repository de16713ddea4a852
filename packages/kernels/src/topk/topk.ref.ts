/**
 * topkForward, one pass: each row's candidate list is cut into chunks of `chunk` entries and each chunk
 * keeps its best `k` in order. Order: larger value first, ties (and −0 = +0) by lower index, −∞ after
 * every finite value, NaN last. Passes repeat until one chunk holds the row; that pass writes the
 * values and i32 indices. The order is total, so every backend returns the same indices.
 */
import type { TypedArray } from '../core/dtype.js';

export const TOPK_MAX_K = 256;
/** Largest chunk one workgroup sorts (keys + indices: 16 KiB of workgroup memory). */
export const TOPK_MAX_CHUNK = 2048;
/** Index of padding entries; they carry key 0 and so sort after everything real. */
export const TOPK_PAD = 0xffffffff;

export interface TopkParams {
  rows: number;
  /** length of a row of x */
  n: number;
  /** candidates per row entering this pass (n on the first pass) */
  len: number;
  /** entries per chunk, a power of two ≥ k (one workgroup sorts one chunk) */
  chunk: number;
  /** entries kept per chunk */
  k: number;
  /** reads x directly (else the keys and indices of the previous pass) */
  first: boolean;
  /** one chunk per row: writes f32 values and i32 indices (else u32 keys and indices) */
  final: boolean;
}

/** Chunk size for a pass over `len` candidates: the row itself when it fits, else the max. */
export function topkChunk(len: number): number {
  if (len > TOPK_MAX_CHUNK) return TOPK_MAX_CHUNK;
  let c = 2;
  while (c < len) c *= 2;
  return c;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Order-preserving u32 key: larger key = better; NaN → 0, ±0 → 0x80000000. */
export function topkKey(v: number): number {
  if (Number.isNaN(v)) return 0;
  if (v === 0) return 0x80000000;
  f32[0] = v;
  const b = u32[0];
  return b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
}

export function topkRef(arrays: TypedArray[], p: TopkParams): void {
  const [x, candK, candI] = arrays;
  const [outA, outB] = arrays.slice(p.first ? 1 : 3);
  const chunks = Math.ceil(p.len / p.chunk);
  const keys = new Float64Array(p.chunk);
  const idx = new Float64Array(p.chunk);
  const order = new Array<number>(p.chunk);
  for (let r = 0; r < p.rows; r++) {
    for (let c = 0; c < chunks; c++) {
      for (let t = 0; t < p.chunk; t++) {
        const j = c * p.chunk + t;
        const real = j < p.len;
        keys[t] = !real ? 0 : p.first ? topkKey(x[r * p.n + j]) : candK[r * p.len + j];
        idx[t] = !real ? TOPK_PAD : p.first ? j : candI[r * p.len + j];
        order[t] = t;
      }
      order.sort((a, b) => keys[b] - keys[a] || idx[a] - idx[b]);
      for (let t = 0; t < p.k; t++) {
        const o = (r * chunks + c) * p.k + t;
        const s = order[t];
        outA[o] = p.final ? x[r * p.n + idx[s]] : keys[s];
        outB[o] = idx[s];
      }
    }
  }
}
