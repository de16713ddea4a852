/**
 * sampleForward over top-k candidates sorted best first (values v, token ids t, per row):
 * w_i = exp((v_i − v_0)/T); keep the shortest prefix 0..c with Σ_{i≤c} w_i ≥ topP·Σ w; pick the first
 * i ≤ c with Σ_{j≤i} w_j > u·Σ_{j≤c} w_j for the row's uniform u ∈ [0, 1). Sums run in index order on
 * every backend, so the same u gives the same token up to rounding at a bucket edge.
 */
import type { TypedArray } from '../core/dtype.js';

export interface SampleParams {
  rows: number;
  /** candidates per row */
  k: number;
  /** > 0 */
  temperature: number;
  /** nucleus mass in (0, 1] */
  topP: number;
}

export function sampleRef([values, ids, uniform, out]: TypedArray[], p: SampleParams): void {
  for (let r = 0; r < p.rows; r++) {
    const v = values.subarray(r * p.k, (r + 1) * p.k);
    const m = v[0];
    if (!(m > Number.NEGATIVE_INFINITY)) {
      // every candidate is −∞ or NaN: nothing to weigh, take the best-ranked one
      out[r] = ids[r * p.k];
      continue;
    }
    const invT = 1 / p.temperature;
    const w = (i: number) => {
      const e = Math.exp((v[i] - m) * invT);
      return Number.isNaN(e) ? 0 : e;
    };
    let total = 0;
    for (let i = 0; i < p.k; i++) total += w(i);
    let c = p.k - 1;
    let cum = 0;
    for (let i = 0; i < p.k; i++) {
      cum += w(i);
      if (cum >= p.topP * total) {
        c = i;
        break;
      }
    }
    const target = uniform[r] * cum;
    let pick = c;
    let acc = 0;
    for (let i = 0; i <= c; i++) {
      acc += w(i);
      if (acc > target) {
        pick = i;
        break;
      }
    }
    out[r] = ids[r * p.k + pick];
  }
}
