/** softmaxBackward over the last axis: dx[r, i] = y[r, i] · (dy[r, i] − Σ_j dy[r, j] · y[r, j]). */
import type { FloatArray } from '../core/dtype.js';
import type { SoftmaxParams } from './softmax.ref.js';

/** Arrays: y (the forward output), dy, then the output dx. */
export function softmaxBackwardRef([y, dy, dx]: FloatArray[], p: SoftmaxParams): void {
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.n;
    let s = 0;
    for (let i = 0; i < p.n; i++) s += dy[base + i] * y[base + i];
    for (let i = 0; i < p.n; i++) dx[base + i] = y[base + i] * (dy[base + i] - s);
  }
}
