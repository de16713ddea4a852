/**
 * moeSeqAuxLoss (optional sequence-level balance loss, DeepSeek-V3 form) over one sequence of T tokens:
 *   f_e = E/(k·T)·#{t : e ∈ idx_t},  P_e = (1/T)·Σ_t p_te / Σ_e' p_te',  L = α·Σ_e f_e·P_e.
 * Gradient to the router logits (f is a count: no gradient); the selection is held fixed.
 */
import type { FloatArray, TypedArray } from '../core/dtype.js';
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

/**
 * The loss over B sequences of S tokens each (T = B·S, the kernels' form): per sequence b, with
 * f_e = E/(k·S)·#picks of e and P_e = (1/S)·Σ_t p_te/Σ_e' p_te', loss_b = α·Σ_e f_e·P_e.
 * arrays: scores [T,E], idx [T,k] → stats [B, E, 2] (f_e, P_e), loss [B].
 */
export interface MoeAuxLossKernelParams {
  B: number;
  S: number;
  E: number;
  k: number;
  alpha: number;
}

export function moeAuxLossStatsRef(arrays: TypedArray[], p: MoeAuxLossKernelParams): void {
  const [scores, idx] = arrays;
  const stats = arrays[2] as FloatArray;
  const loss = arrays[3] as FloatArray;
  const { S, E, k } = p;
  for (let b = 0; b < p.B; b++) {
    const f = new Float64Array(E);
    for (let a = b * S * k; a < (b + 1) * S * k; a++) f[idx[a]] += 1;
    const P = new Float64Array(E);
    for (let t = b * S; t < (b + 1) * S; t++) {
      let sum = 0;
      for (let e = 0; e < E; e++) sum += scores[t * E + e];
      for (let e = 0; e < E; e++) P[e] += scores[t * E + e] / sum;
    }
    let L = 0;
    for (let e = 0; e < E; e++) {
      const fe = (f[e] * E) / (k * S);
      const pe = P[e] / S;
      stats[(b * E + e) * 2] = fe;
      stats[(b * E + e) * 2 + 1] = pe;
      L += fe * pe;
    }
    loss[b] = p.alpha * L;
  }
}

/**
 * Backward of the mean over sequences, (1/B)·Σ_b loss_b: arrays scores [T,E], stats [B,E,2], dL [1]
 * (the upstream gradient of the mean) → dlogits [T,E]; the selection (f) gets no gradient.
 */
export function moeAuxLossBackwardKernelRef(arrays: TypedArray[], p: MoeAuxLossKernelParams & { scoreFn: MoeScoreFn }): void {
  const [scores, stats, dL] = arrays;
  const dr = arrays[3] as FloatArray;
  const { S, E } = p;
  for (let t = 0; t < p.B * S; t++) {
    const b = Math.floor(t / S);
    const o = t * E;
    const c = (dL[0] * p.alpha) / (p.B * S);
    let sum = 0;
    for (let e = 0; e < E; e++) sum += scores[o + e];
    let cross = 0;
    for (let e = 0; e < E; e++) cross += c * stats[(b * E + e) * 2] * (scores[o + e] / sum);
    let dot = 0;
    for (let e = 0; e < E; e++) dot += ((c * stats[(b * E + e) * 2] - cross) / sum) * scores[o + e];
    for (let e = 0; e < E; e++) {
      const ds = (c * stats[(b * E + e) * 2] - cross) / sum;
      const s = scores[o + e];
      dr[o + e] = p.scoreFn === 'sigmoid' ? ds * s * (1 - s) : s * (ds - dot);
    }
  }
}
