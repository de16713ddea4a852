/** softmaxForward: y[r, i] = exp(x[r, i] − max_j x[r, j]) / Σ_j exp(x[r, j] − max_j x[r, j]). */
import type { FloatArray } from '../core/dtype.js';

export interface SoftmaxParams {
  rows: number;
  /** row length (the last axis) */
  n: number;
}

export function softmaxRef([x, out]: FloatArray[], p: SoftmaxParams): void {
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.n;
    let m = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < p.n; i++) m = Math.max(m, x[base + i]);
    let s = 0;
    for (let i = 0; i < p.n; i++) s += Math.exp(x[base + i] - m);
    for (let i = 0; i < p.n; i++) out[base + i] = Math.exp(x[base + i] - m) / s;
  }
}
