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

/** Rows of at least this many contiguous elements are copied with one TypedArray.set. */
const ROW_SET_MIN = 16;

export function copyRef([x, out]: TypedArray[], p: CopyParams): void {
  const rank = p.shape.length;
  const last = rank - 1;
  // v2: when the last dim is contiguous at both ends (a concat, a row slice), copy whole rows with
  // set (a byte copy between arrays of one type; distinct buffers, so no overlap question)
  const rows = rank > 0 && p.shape[last] >= ROW_SET_MIN && p.srcStrides[last] === 1 && p.dstStrides[last] === 1 && x.constructor === out.constructor && x.buffer !== out.buffer;
  const inner = rows ? p.shape[last] : 1;
  const outer = rows ? last : rank;
  let n = 1;
  for (let k = 0; k < outer; k++) n *= p.shape[k];
  if (rows && inner === 0) return;
  const idx = new Array<number>(outer).fill(0);
  for (let e = 0; e < n; e++) {
    let s = p.srcOffset;
    let d = p.dstOffset;
    for (let k = 0; k < outer; k++) {
      s += idx[k] * p.srcStrides[k];
      d += idx[k] * p.dstStrides[k];
    }
    if (rows) out.set(x.subarray(s, s + inner), d);
    else out[d] = x[s];
    for (let k = outer - 1; k >= 0; k--) {
      if (++idx[k] < p.shape[k]) break;
      idx[k] = 0;
    }
  }
}
