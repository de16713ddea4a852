/**
 * moeSeqAuxLoss (optional sequence-level balance loss, DeepSeek-V3 form) over one sequence of T tokens:
 *   f_e = E/(k·T)·#{t : e ∈ idx_t},  P_e = (1/T)·Σ_t p_te / Σ_e' p_te',  L = α·Σ_e f_e·P_e.
 * Gradient to the router logits (f is a count: no gradient); the selection is held fixed.
 */
import type { FloatArray } from '../core/dtype.js';
import type { MoeScoreFn } from './moeRouter.ref.js';

export interface MoeAuxLossParams {
  T: number;
  E: number;
  k: number;
  alpha: number;
  scoreFn: MoeScoreFn;
}

function loadFraction(idx: ArrayLike<number>, p: MoeAuxLossParams): Float64Array {
  const f = new Float64Array(p.E);
  for (let a = 0; a < p.T * p.k; a++) f[idx[a]] += p.E / (p.k * p.T);
  return f;
}

/** The loss from scores p [T,E] and the selection idx [T,k]. */
export function moeSeqAuxLossRef(scores: FloatArray, idx: ArrayLike<number>, p: MoeAuxLossParams): number {
  const f = loadFraction(idx, p);
  let L = 0;
  for (let t = 0; t < p.T; t++) {
    let S = 0;
    for (let e = 0; e < p.E; e++) S += scores[t * p.E + e];
    for (let e = 0; e < p.E; e++) L += (f[e] * scores[t * p.E + e]) / S / p.T;
  }
  return p.alpha * L;
}

/** dL/dlogits [T,E] (times the upstream scalar `dL`). */
export function moeSeqAuxLossBackwardRef(scores: FloatArray, idx: ArrayLike<number>, p: MoeAuxLossParams, dL = 1): Float64Array {
  const f = loadFraction(idx, p);
  const { E } = p;
  const dr = new Float64Array(p.T * E);
  const ds = new Float64Array(E);
  for (let t = 0; t < p.T; t++) {
    const o = t * E;
    let S = 0;
    let cross = 0;
    for (let e = 0; e < E; e++) S += scores[o + e];
    for (let e = 0; e < E; e++) cross += ((dL * p.alpha * f[e]) / p.T) * (scores[o + e] / S);
    for (let e = 0; e < E; e++) ds[e] = ((dL * p.alpha * f[e]) / p.T - cross) / S;
    if (p.scoreFn === 'sigmoid') {
      for (let e = 0; e < E; e++) dr[o + e] = ds[e] * scores[o + e] * (1 - scores[o + e]);
      continue;
    }
    let dot = 0;
    for (let e = 0; e < E; e++) dot += ds[e] * scores[o + e];
    for (let e = 0; e < E; e++) dr[o + e] = scores[o + e] * (ds[e] - dot);
  }
  return dr;
}
