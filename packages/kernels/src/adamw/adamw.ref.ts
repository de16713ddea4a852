/**
 * adamwStep (PyTorch's AdamW, decoupled weight decay, bias correction), elementwise with g = gscale·grad:
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps),  bc1 = 1 − β1^t, bc2 = 1 − β2^t.
 * gscale folds gradient clipping and the 1/accumulation factor into the one pass.
 */
import type { FloatArray } from '../core/dtype.js';

export interface AdamwParams {
  n: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1 − β1^step */
  bc1: number;
  /** 1 − β2^step */
  bc2: number;
  /** multiplier applied to the gradient first (clip factor × 1/accumulation steps) */
  gscale: number;
}

/** Arrays: grad, then param, m, v, all updated in place. */
export function adamwRef([grad, param, m, v]: FloatArray[], p: AdamwParams): void {
  const decay = 1 - p.lr * p.weightDecay;
  const step = p.lr / p.bc1;
  const sbc2 = Math.sqrt(p.bc2);
  for (let i = 0; i < p.n; i++) {
    const g = grad[i] * p.gscale;
    m[i] = p.beta1 * m[i] + (1 - p.beta1) * g;
    v[i] = p.beta2 * v[i] + (1 - p.beta2) * g * g;
    param[i] = param[i] * decay - (step * m[i]) / (Math.sqrt(v[i]) / sbc2 + p.eps);
  }
}
