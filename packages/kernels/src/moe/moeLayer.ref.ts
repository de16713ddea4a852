/**
 * moeLayerForward as plain math over whole arrays (float64 in tests; the oracle for the backward):
 *   logits = x·Gᵀ [T,E]; router (moeRouter.ref.ts) → idx, w;  y[t·k + j] = SwiGLU_{idx}(x_t);
 *   out_t = Σ_j w[t,j]·y[t·k + j] + SwiGLU_shared(x_t),   SwiGLU(x) = Wd·(silu(Wg·x) ⊙ Wu·x).
 */
import type { FloatArray } from '../core/dtype.js';
import { type MoeRouterParams, moeRouterRef } from './moeRouter.ref.js';

/** Weights of one MoE layer: experts stacked [E, F, d] / [E, d, F]; the shared expert is optional. */
export interface MoeRefWeights {
  /** router weight [E, d] */
  gate: FloatArray;
  /** selection bias [E] */
  bias: FloatArray;
  wg: FloatArray;
  wu: FloatArray;
  wd: FloatArray;
  /** shared expert [Fs, d], [Fs, d], [d, Fs] */
  shared?: { wg: FloatArray; wu: FloatArray; wd: FloatArray; F: number };
}

export interface MoeRefDims {
  T: number;
  d: number;
  /** expert width (moe_intermediate_size) */
  F: number;
  router: Omit<MoeRouterParams, 'T'>;
}

export interface MoeRefForward {
  out: Float64Array;
  logits: Float64Array;
  scores: Float64Array;
  idx: Int32Array;
  weights: Float64Array;
  /** unweighted expert outputs [T·k, d] */
  y: Float64Array;
}

/** SwiGLU MLP of one row: Wd·(silu(Wg·x) ⊙ Wu·x) with the three weights at offsets (F hidden). */
export function swigluRow(x: ArrayLike<number>, xo: number, w: MoeRefWeights['shared'] & object, go: number, dO: number, d: number): Float64Array {
  const F = w.F;
  const act = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    let g = 0;
    let u = 0;
    for (let c = 0; c < d; c++) {
      g += x[xo + c] * w.wg[go + f * d + c];
      u += x[xo + c] * w.wu[go + f * d + c];
    }
    act[f] = (g / (1 + Math.exp(-g))) * u;
  }
  const y = new Float64Array(d);
  for (let c = 0; c < d; c++) {
    let s = 0;
    for (let f = 0; f < F; f++) s += w.wd[dO + c * F + f] * act[f];
    y[c] = s;
  }
  return y;
}

export function moeLayerForwardRef(x: FloatArray, W: MoeRefWeights, dims: MoeRefDims): MoeRefForward {
  const { T, d, F } = dims;
  const { E, k } = dims.router;
  const logits = new Float64Array(T * E);
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < E; e++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += x[t * d + c] * W.gate[e * d + c];
      logits[t * E + e] = s;
    }
  }
  const scores = new Float64Array(T * E);
  const idx = new Int32Array(T * k);
  const weights = new Float64Array(T * k);
  moeRouterRef([logits, W.bias, scores, idx, weights], { ...dims.router, T });
  const y = new Float64Array(T * k * d);
  const out = new Float64Array(T * d);
  const experts = { wg: W.wg, wu: W.wu, wd: W.wd, F };
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < k; j++) {
      const e = idx[t * k + j];
      const ye = swigluRow(x, t * d, experts, e * F * d, e * d * F, d);
      y.set(ye, (t * k + j) * d);
      for (let c = 0; c < d; c++) out[t * d + c] += weights[t * k + j] * ye[c];
    }
    if (W.shared) {
      const ys = swigluRow(x, t * d, W.shared, 0, 0, d);
      for (let c = 0; c < d; c++) out[t * d + c] += ys[c];
    }
  }
  return { out, logits, scores, idx, weights, y };
}
