/**
 * embeddingForward: out[t, j] = table[ids[t], j] for t < n, j < d; the table is f32 or packed
 * f16/bf16 (decoded to f32). An id outside [0, vocab) writes a zero row: the op checks host-known
 * ids and throws, so zeros only appear for ids that were produced on the device.
 */
import { bf16ToF32, f16ToF32, type TypedArray } from '../core/dtype.js';

export interface EmbeddingParams {
  /** rows of the table */
  vocab: number;
  /** row width */
  d: number;
  /** number of ids */
  n: number;
  /** storage type of the table */
  dtype: 'f32' | 'f16' | 'bf16';
}

export function embeddingRef([table, ids, out]: TypedArray[], p: EmbeddingParams): void {
  const decode = p.dtype === 'bf16' ? bf16ToF32 : p.dtype === 'f16' ? f16ToF32 : (x: number) => x;
  for (let t = 0; t < p.n; t++) {
    const id = ids[t];
    const ok = id >= 0 && id < p.vocab;
    for (let j = 0; j < p.d; j++) out[t * p.d + j] = ok ? decode(table[id * p.d + j]) : 0;
  }
}
