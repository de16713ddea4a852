/**
 * stridedCopy: out[dstOffset + Σ i_d·dstStrides_d] = x[srcOffset + Σ i_d·srcStrides_d] over `shape`
 * (rank ≤ 6). Materializes views (transpose, slice) and writes into views (concat). 32-bit elements.
 */
import type { TypedArray } from '../core/dtype.js';

export const MAX_RANK = 6;

export interface CopyParams {
  shape: readonly number[];
  srcStrides: readonly number[];
  srcOffset: number;
  dstStrides: readonly number[];
  dstOffset: number;
  /** WGSL scalar type of the elements (bit copy either way) */
  type: 'f32' | 'i32' | 'u32';
}

export function copyRef([x, out]: TypedArray[], p: CopyParams): void {
  const rank = p.shape.length;
  const n = p.shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(rank).fill(0);
  for (let e = 0; e < n; e++) {
    let s = p.srcOffset;
    let d = p.dstOffset;
    for (let k = 0; k < rank; k++) {
      s += idx[k] * p.srcStrides[k];
      d += idx[k] * p.dstStrides[k];
    }
    out[d] = x[s];
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k] < p.shape[k]) break;
      idx[k] = 0;
    }
  }
}
