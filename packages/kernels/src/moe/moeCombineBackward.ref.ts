/**
 * moeCombineBackward: with out_t = Σ_j w_tj·y[t·k + j] (+ shared_t) and g = dL/dout,
 *   dy[t·k + j] = w_tj·g_t,   dw_tj = g_t·y[t·k + j]   (a d-term dot, summed in order of c).
 * The shared expert's gradient is g itself (no kernel).
 */
import type { FloatArray, TypedArray } from '../core/dtype.js';

export interface MoeCombineBackwardParams {
  T: number;
  k: number;
  d: number;
}

/** arrays: dout [T,d], y [T·k,d], w [T,k] → dy [T·k,d], dw [T,k]. */
export function moeCombineBackwardRef(arrays: TypedArray[], p: MoeCombineBackwardParams): void {
  const [g, y, w] = arrays;
  const dy = arrays[3] as FloatArray;
  const dw = arrays[4] as FloatArray;
  const { k, d } = p;
  for (let a = 0; a < p.T * k; a++) {
    const t = Math.floor(a / k);
    let s = 0;
    for (let c = 0; c < d; c++) {
      dy[a * d + c] = w[a] * g[t * d + c];
      s += g[t * d + c] * y[a * d + c];
    }
    dw[a] = s;
  }
}
