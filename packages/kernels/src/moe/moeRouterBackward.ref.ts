/**
 * moeRouterBackward: dL/dlogits [T, E] from dL/dw [T, k] of the combine weights, the selection held
 * fixed (moeBackward.ref.ts derives it). With S = Σ_j p[idx_j] (1 without norm), c = scale:
 *   dp_j = c·(dw_j − [norm]·Σ_i dw_i·p[idx_i]/S)/S at e = idx_j, 0 elsewhere;
 *   sigmoid: dr = dp·p(1−p);  softmax: dr = p ⊙ (dp − Σ_j dp_j·p[idx_j]).
 */
import type { FloatArray, TypedArray } from '../core/dtype.js';
import type { MoeScoreFn } from './moeRouter.ref.js';

export interface MoeRouterBackwardParams {
  T: number;
  E: number;
  k: number;
  scoreFn: MoeScoreFn;
  norm: boolean;
  scale: number;
}

/** arrays: scores [T,E], idx [T,k] (i32), dw [T,k] → dlogits [T,E]. */
export function moeRouterBackwardRef(arrays: TypedArray[], p: MoeRouterBackwardParams): void {
  const [scores, idx, dw] = arrays;
  const dr = arrays[3] as FloatArray;
  const { E, k } = p;
  for (let t = 0; t < p.T; t++) {
    const o = t * E;
    let S = 1;
    let cross = 0;
    if (p.norm) {
      S = 0;
      for (let j = 0; j < k; j++) S += scores[o + idx[t * k + j]];
      for (let j = 0; j < k; j++) cross += dw[t * k + j] * scores[o + idx[t * k + j]];
    }
    let dot = 0;
    for (let j = 0; j < k; j++) dot += ((p.scale * (dw[t * k + j] - cross / S)) / S) * scores[o + idx[t * k + j]];
    for (let e = 0; e < E; e++) dr[o + e] = p.scoreFn === 'softmax' ? -scores[o + e] * dot : 0;
    for (let j = 0; j < k; j++) {
      const e = idx[t * k + j];
      const dp = (p.scale * (dw[t * k + j] - cross / S)) / S;
      const s = scores[o + e];
      dr[o + e] = p.scoreFn === 'softmax' ? s * (dp - dot) : dp * s * (1 - s);
    }
  }
}
