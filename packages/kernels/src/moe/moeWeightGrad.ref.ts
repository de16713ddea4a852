/**
 * moeWeightGrad: per-expert weight gradients over the expert's sorted rows (offsets from moeDispatch),
 *   dW[e, n, m] (+)= Σ_{r ∈ rows(e)} P[srcP(r), n] · Q[srcQ(r), m]     dW [E, N, M]
 * (down: P = dy in assignment order, Q = act sorted; gate/up: P = dg/du sorted, Q = x by token).
 * An expert without rows gets zeros (or is left as is when accumulating). Summed in row order.
 */
import type { FloatArray, TypedArray } from '../core/dtype.js';
import { type MoeRowMap, moeRow } from './moeGroupedGemm.ref.js';

export interface MoeWeightGradParams {
  pSrc: MoeRowMap;
  qSrc: MoeRowMap;
  accumulate: boolean;
  k: number;
  E: number;
  N: number;
  M: number;
}

/** arrays: P, Q, perm [A], offsets [E+1] → dW [E, N, M]. */
export function moeWeightGradRef(arrays: TypedArray[], p: MoeWeightGradParams): void {
  const [P, Q, perm, offsets] = arrays;
  const out = arrays[4] as FloatArray;
  const { N, M } = p;
  for (let e = 0; e < p.E; e++) {
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        let s = 0;
        for (let r = offsets[e]; r < offsets[e + 1]; r++) s += P[moeRow(p.pSrc, perm, r, p.k) * N + n] * Q[moeRow(p.qSrc, perm, r, p.k) * M + m];
        const o = (e * N + n) * M + m;
        out[o] = p.accumulate ? out[o] + s : s;
      }
    }
  }
}
