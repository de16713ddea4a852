/**
 * rmsNormBackward, y = w ⊙ x·r with r = (mean x² + eps)^(−1/2), per row of n:
 *   dx_i = r·w_i·dy_i − x_i·r³·(1/n)·Σ_j w_j·dy_j·x_j,   rstd = r (saved for the weight grad);
 * rmsNormWeightGrad: dw_j = Σ_rows dy_j·x_j·r (rows summed in order, so it is deterministic); with
 * `block`, the partials dw[b, j] over rows [b·block, (b+1)·block), which the op then sums over b.
 */
import type { FloatArray } from '../core/dtype.js';

export interface RmsNormBackwardParams {
  rows: number;
  /** row length */
  n: number;
  eps: number;
}

/** Arrays: x, w (f32), dy, then outputs dx, rstd [rows]. */
export function rmsNormBackwardRef([x, w, dy, dx, rstd]: FloatArray[], p: RmsNormBackwardParams): void {
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.n;
    let ss = 0;
    let dot = 0;
    for (let i = 0; i < p.n; i++) {
      ss += x[base + i] * x[base + i];
      dot += w[i] * dy[base + i] * x[base + i];
    }
    const inv = 1 / Math.sqrt(ss / p.n + p.eps);
    const c = (inv * inv * inv * dot) / p.n;
    for (let i = 0; i < p.n; i++) dx[base + i] = inv * w[i] * dy[base + i] - x[base + i] * c;
    rstd[r] = inv;
  }
}

export interface RmsNormWeightGradParams {
  rows: number;
  n: number;
  /** rows per partial (default all rows: dw itself) */
  block?: number;
}

/** Partials of a blocked weight gradient: ⌈rows / block⌉ (1 without a block). */
export const rmsNormWeightGradBlocks = (p: RmsNormWeightGradParams): number => (p.block ? Math.max(1, Math.ceil(p.rows / p.block)) : 1);

/** Arrays: x, dy, rstd [rows], then the output dw [blocks, n]. */
export function rmsNormWeightGradRef([x, dy, rstd, dw]: FloatArray[], p: RmsNormWeightGradParams): void {
  const block = p.block ?? p.rows;
  for (let b = 0; b < rmsNormWeightGradBlocks(p); b++) {
    for (let j = 0; j < p.n; j++) {
      let s = 0;
      for (let r = b * block; r < Math.min(p.rows, (b + 1) * block); r++) s += dy[r * p.n + j] * x[r * p.n + j] * rstd[r];
      dw[b * p.n + j] = s;
    }
  }
}
