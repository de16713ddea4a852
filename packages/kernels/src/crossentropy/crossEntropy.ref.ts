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
  /**
   * dlogits of the mean loss: each row's gradient times 1 / denom, denom read from an extra input
   * (crossEntropyDenom's output: the valid rows, at least 1), so that the backward need not scale
   * [rows, V] again.
   */
  scaled?: boolean;
}

/**
 * Arrays: logits, targets (i32), (with `scaled`: denom [1]), then outputs loss [rows], dlogits
 * [rows, V], valid [rows].
 */
export function crossEntropyRef(arrays: (FloatArray | Int32Array)[], p: CrossEntropyParams): void {
  const [x, tgt] = arrays;
  const [loss, dx, valid] = arrays.slice(p.scaled ? 3 : 2);
  // f32 arrays round as the kernel does (g, 1 / denom, then their product); float64 ones stay exact
  const round = dx instanceof Float32Array ? Math.fround : (y: number) => y;
  const inv = p.scaled ? round(1 / arrays[2][0]) : 1;
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
    for (let i = 0; i < p.v; i++) dx[base + i] = round(Math.exp(x[base + i] - m) / s - (i === t ? 1 : 0)) * inv;
  }
}

export interface CrossEntropyDenomParams {
  rows: number;
  /** vocabulary size: targets in [0, V) count */
  v: number;
}

/** Arrays: targets (i32) [rows], then out [1] = max(1, #targets in [0, V)): the mean loss's divisor. */
export function crossEntropyDenomRef(arrays: (FloatArray | Int32Array)[], p: CrossEntropyDenomParams): void {
  const [tgt, out] = arrays;
  let n = 0;
  for (let r = 0; r < p.rows; r++) if (tgt[r] >= 0 && tgt[r] < p.v) n++;
  out[0] = Math.max(1, n);
}
