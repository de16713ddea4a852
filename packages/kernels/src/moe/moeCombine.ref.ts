/**
 * moeCombineForward: out[t] = Σ_j w[t, j] · y[t·k + j]  (+ shared[t]), the k terms added in slot
 * order j = 0..k−1 and the shared expert last, so the result does not depend on the schedule.
 */
import type { FloatArray } from '../core/dtype.js';

export interface MoeCombineParams {
  T: number;
  k: number;
  /** model width */
  d: number;
  /** a shared-expert output [T, d] is bound before out */
  shared: boolean;
}

/** arrays: y [T·k, d], w [T, k], (shared [T, d]) → out [T, d]. */
export function moeCombineRef(arrays: FloatArray[], p: MoeCombineParams): void {
  const [y, w] = arrays;
  const shared = p.shared ? arrays[2] : null;
  const out = arrays[p.shared ? 3 : 2];
  for (let t = 0; t < p.T; t++) {
    for (let c = 0; c < p.d; c++) {
      let s = 0;
      for (let j = 0; j < p.k; j++) s += w[t * p.k + j] * y[(t * p.k + j) * p.d + c];
      out[t * p.d + c] = shared ? s + shared[t * p.d + c] : s;
    }
  }
}
