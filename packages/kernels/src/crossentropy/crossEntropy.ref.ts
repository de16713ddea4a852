/**
 * crossEntropyForward fused with its gradient, per row r of logits x [rows, V] with target t_r:
 *   loss_r = logsumexp(x_r) − x_r[t_r],  dx_r = softmax(x_r) − onehot(t_r),  valid_r = 1;
 * a target outside [0, V) (e.g. −100) masks the row: loss 0, dx 0, valid 0. The softmax is formed
 * once, for the gradient, and never stored on its own.
 */
import type { FloatArray } from '../core/dtype.js';

export interface CrossEntropyParams {
  rows: number;
  /** vocabulary size (row length) */
  v: number;
}

/** Arrays: logits, targets (i32), then outputs loss [rows], dlogits [rows, V], valid [rows]. */
export function crossEntropyRef(arrays: (FloatArray | Int32Array)[], p: CrossEntropyParams): void {
  const [x, tgt, loss, dx, valid] = arrays;
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.v;
    const t = tgt[r];
    if (t < 0 || t >= p.v) {
      loss[r] = 0;
      valid[r] = 0;
      for (let i = 0; i < p.v; i++) dx[base + i] = 0;
      continue;
    }
    let m = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < p.v; i++) m = Math.max(m, x[base + i]);
    let s = 0;
    for (let i = 0; i < p.v; i++) s += Math.exp(x[base + i] - m);
    loss[r] = m + Math.log(s) - x[base + t];
    valid[r] = 1;
    for (let i = 0; i < p.v; i++) dx[base + i] = Math.exp(x[base + i] - m) / s - (i === t ? 1 : 0);
  }
}
