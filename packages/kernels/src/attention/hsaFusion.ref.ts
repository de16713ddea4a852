/**
 * HSA fusion weights over the k selected chunk scores of each (token, retrieval head) row
 * (reference-model.md §3.6). Slots are in most-recent-first order; −∞ marks an invalid or masked slot.
 *   softmax:        w = softmax_j(sel_j + j·posDecay) with −∞ → −1e7; a row of only −∞ gives w = 0
 *   stick-breaking: w_j = exp(sel_j − Σ_{l≤j} softplus15(sel_l)) = σ(sel_j)·Π_{l<j}(1 − σ(sel_l))
 * (posDecay applies to the softmax path only, as in the reference.) A −∞ slot always gets w = 0.
 * Layouts, row-major: sel, w, dw, dsel [rows, k] (rows = T·Hr).
 * v1 plain loops, float64 sums.
 */
import type { FloatArray } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import { needLength, nonNegativeInt, positiveInt, softplus15, softplus15Grad } from './common.js';

export type FusionMode = 'softmax' | 'stickBreaking';

export interface HsaFusionParams {
  /** rows = T·Hr */
  rows: number;
  /** slots per row (k_eff) */
  k: number;
  mode: FusionMode;
  /** learned pos_decay scalar (softmax only), default 0 */
  posDecay?: number;
}

function check(op: string, p: HsaFusionParams, arrays: Record<string, FloatArray>): void {
  nonNegativeInt(op, 'rows', p.rows);
  positiveInt(op, 'k', p.k);
  if (p.mode !== 'softmax' && p.mode !== 'stickBreaking') {
    throw new ArgumentError(`${op}: mode must be 'softmax' or 'stickBreaking', got ${p.mode}`);
  }
  for (const [n, a] of Object.entries(arrays)) needLength(op, n, a, p.rows * p.k, `[${p.rows}, ${p.k}]`);
}

function softmaxRow(sel: FloatArray, w: FloatArray, o: number, k: number, pd: number): void {
  let m = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < k; j++) m = Math.max(m, sel[o + j]);
  if (m === Number.NEGATIVE_INFINITY) {
    for (let j = 0; j < k; j++) w[o + j] = 0;
    return;
  }
  const x = new Float64Array(k);
  let mx = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < k; j++) {
    const s = sel[o + j];
    x[j] = s === Number.NEGATIVE_INFINITY ? -1e7 : s + j * pd;
    mx = Math.max(mx, x[j]);
  }
  let sum = 0;
  for (let j = 0; j < k; j++) sum += x[j] = Math.exp(x[j] - mx);
  for (let j = 0; j < k; j++) w[o + j] = x[j] / sum;
}

function stickBreakingRow(sel: FloatArray, w: FloatArray, o: number, k: number): void {
  let cum = 0;
  for (let j = 0; j < k; j++) {
    const s = sel[o + j];
    if (s === Number.NEGATIVE_INFINITY) {
      w[o + j] = 0;
      continue;
    }
    cum += softplus15(s);
    w[o + j] = Math.exp(s - cum);
  }
}

/** hsaFusionWeights: [sel, w]. */
export function hsaFusionWeightsRef([sel, w]: FloatArray[], p: HsaFusionParams): void {
  check('hsaFusionWeights', p, { sel, w });
  for (let r = 0; r < p.rows; r++) {
    if (p.mode === 'softmax') softmaxRow(sel, w, r * p.k, p.k, p.posDecay ?? 0);
    else stickBreakingRow(sel, w, r * p.k, p.k);
  }
}

/**
 * hsaFusionBackward: [sel, w, dw, dsel] (+ optional dPosDecay [1]); w is the forward output,
 * dsel (and dPosDecay) are overwritten. −∞ slots get dsel = 0.
 */
export function hsaFusionBackwardRef([sel, w, dw, dsel, dPosDecay]: FloatArray[], p: HsaFusionParams): void {
  check('hsaFusionBackward', p, { sel, w, dw, dsel });
  let dpd = 0;
  const k = p.k;
  for (let r = 0; r < p.rows; r++) {
    const o = r * k;
    if (p.mode === 'softmax') {
      let dot = 0;
      for (let j = 0; j < k; j++) dot += w[o + j] * dw[o + j];
      for (let j = 0; j < k; j++) {
        dsel[o + j] = w[o + j] * (dw[o + j] - dot);
        dpd += j * dsel[o + j];
      }
    } else {
      // dsel_m = w_m·dw_m − softplus15'(sel_m)·Σ_{j≥m} w_j·dw_j
      let tail = 0;
      for (let m = k - 1; m >= 0; m--) {
        tail += w[o + m] * dw[o + m];
        const s = sel[o + m];
        dsel[o + m] = s === Number.NEGATIVE_INFINITY ? 0 : w[o + m] * dw[o + m] - softplus15Grad(s) * tail;
      }
    }
  }
  if (dPosDecay) dPosDecay[0] = p.mode === 'softmax' ? dpd : 0;
}
