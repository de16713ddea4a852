/**
 * embeddingBackward: dtable[v, j] = Σ_{t: ids[t] = v} dy[t, j], summed in ascending t (a
 * deterministic scatter-add: WGSL has no float atomics). Rows no id hits are left as they are (the op
 * zero-fills them first); ids outside [0, vocab) contribute nothing.
 */
import type { FloatArray } from '../core/dtype.js';

export interface EmbeddingBackwardParams {
  vocab: number;
  /** row width */
  d: number;
  /** number of ids */
  n: number;
}

/** Arrays: ids (i32), dy [n, d], then the output dtable [vocab, d] (pre-zeroed). */
export function embeddingBackwardRef(arrays: (FloatArray | Int32Array)[], p: EmbeddingBackwardParams): void {
  const [ids, dy, out] = arrays;
  for (let t = 0; t < p.n; t++) {
    const id = ids[t];
    if (id < 0 || id >= p.vocab) continue;
    for (let j = 0; j < p.d; j++) out[id * p.d + j] += dy[t * p.d + j];
  }
}
