/**
 * moeLayerBackward (plain math, float64 oracle; the GPU backward comes with autograd). With
 * out_t = Σ_j w_tj·y_tj + s_t and upstream gradient g_t = dL/dout_t:
 *   dw_tj = g_t·y_tj;  dy_tj = w_tj·g_t → through SwiGLU_e to dWg_e, dWu_e, dWd_e and dx_t;
 *   w_j = c·p_j/S (S = Σ_j p_j when norm, else 1): dp_i = c·(dw_i − [norm]·Σ_j dw_j·p_j/S)/S;
 *   sigmoid: dr = dp·p(1−p); softmax: dr = p ⊙ (dp − Σ dp·p);  dG += dr ⊗ x_t, dx_t += Gᵀ·dr.
 * The selection (idx) is held fixed: no gradient flows through the top-k choice or the bias.
 */
import type { FloatArray } from '../core/dtype.js';
import type { MoeRefDims, MoeRefForward, MoeRefWeights } from './moeLayer.ref.js';

export interface MoeRefGrads {
  x: Float64Array;
  gate: Float64Array;
  wg: Float64Array;
  wu: Float64Array;
  wd: Float64Array;
  /** dL/dw for the combine weights [T, k] */
  weights: Float64Array;
  /** dL/dlogits [T, E] */
  logits: Float64Array;
  shared?: { wg: Float64Array; wu: Float64Array; wd: Float64Array };
}

interface MlpSlot {
  w: { wg: FloatArray; wu: FloatArray; wd: FloatArray; F: number };
  dw: { wg: Float64Array; wu: Float64Array; wd: Float64Array };
  go: number;
  dO: number;
}

/** Backward of y = SwiGLU(x_t) given dy, accumulating weight grads and dx (offsets go / dO). */
export function swigluRowBackward(x: ArrayLike<number>, xo: number, dy: ArrayLike<number>, dyo: number, m: MlpSlot, dx: Float64Array, d: number): void {
  const { w, dw, go, dO } = m;
  const F = w.F;
  for (let f = 0; f < F; f++) {
    let g = 0;
    let u = 0;
    for (let c = 0; c < d; c++) {
      g += x[xo + c] * w.wg[go + f * d + c];
      u += x[xo + c] * w.wu[go + f * d + c];
    }
    const sg = 1 / (1 + Math.exp(-g));
    let da = 0;
    for (let c = 0; c < d; c++) {
      da += w.wd[dO + c * F + f] * dy[dyo + c];
      dw.wd[dO + c * F + f] += dy[dyo + c] * g * sg * u;
    }
    const dg = da * u * sg * (1 + g * (1 - sg));
    const du = da * g * sg;
    for (let c = 0; c < d; c++) {
      dw.wg[go + f * d + c] += dg * x[xo + c];
      dw.wu[go + f * d + c] += du * x[xo + c];
      dx[xo + c] += w.wg[go + f * d + c] * dg + w.wu[go + f * d + c] * du;
    }
  }
}

/** dL/dlogits of one token from dL/dw (router weights of its k slots). */
function routerBackward(t: number, dims: MoeRefDims, fwd: MoeRefForward, dw: ArrayLike<number>, dr: Float64Array): void {
  const { E, k, norm, scale, scoreFn } = dims.router;
  const p = fwd.scores;
  const o = t * E;
  const sel = Array.from({ length: k }, (_, j) => fwd.idx[t * k + j]);
  const S = norm ? sel.reduce((s, e) => s + p[o + e], 0) : 1;
  let cross = 0;
  if (norm) for (let j = 0; j < k; j++) cross += dw[t * k + j] * p[o + sel[j]];
  const dp = new Float64Array(E);
  for (let j = 0; j < k; j++) dp[sel[j]] += (scale * (dw[t * k + j] - cross / S)) / S;
  if (scoreFn === 'sigmoid') {
    for (let e = 0; e < E; e++) dr[o + e] = dp[e] * p[o + e] * (1 - p[o + e]);
    return;
  }
  let dot = 0;
  for (let e = 0; e < E; e++) dot += dp[e] * p[o + e];
  for (let e = 0; e < E; e++) dr[o + e] = p[o + e] * (dp[e] - dot);
}

export function moeLayerBackwardRef(x: FloatArray, W: MoeRefWeights, dims: MoeRefDims, fwd: MoeRefForward, dout: FloatArray): MoeRefGrads {
  const { T, d, F } = dims;
  const { E, k } = dims.router;
  const g: MoeRefGrads = {
    x: new Float64Array(T * d),
    gate: new Float64Array(E * d),
    wg: new Float64Array(W.wg.length),
    wu: new Float64Array(W.wu.length),
    wd: new Float64Array(W.wd.length),
    weights: new Float64Array(T * k),
    logits: new Float64Array(T * E),
  };
  if (W.shared) g.shared = { wg: new Float64Array(W.shared.wg.length), wu: new Float64Array(W.shared.wu.length), wd: new Float64Array(W.shared.wd.length) };
  const experts = { wg: W.wg, wu: W.wu, wd: W.wd, F };
  const dy = new Float64Array(d);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < k; j++) {
      const a = t * k + j;
      const e = fwd.idx[a];
      let s = 0;
      for (let c = 0; c < d; c++) {
        s += dout[t * d + c] * fwd.y[a * d + c];
        dy[c] = fwd.weights[a] * dout[t * d + c];
      }
      g.weights[a] = s;
      swigluRowBackward(x, t * d, dy, 0, { w: experts, dw: g, go: e * F * d, dO: e * d * F }, g.x, d);
    }
    if (W.shared && g.shared) swigluRowBackward(x, t * d, dout, t * d, { w: W.shared, dw: g.shared, go: 0, dO: 0 }, g.x, d);
    routerBackward(t, dims, fwd, g.weights, g.logits);
    for (let e = 0; e < E; e++) {
      const r = g.logits[t * E + e];
      for (let c = 0; c < d; c++) {
        g.gate[e * d + c] += r * x[t * d + c];
        g.x[t * d + c] += r * W.gate[e * d + c];
      }
    }
  }
  return g;
}
