/**
 * rmsNormForward: y[r, i] = w[i] · x[r, i] / sqrt(mean_j x[r, j]² + eps), over the last axis; w is
 * f32 or packed f16/bf16 (a Uint16Array here).
 */
import { bf16ToF32, type FloatArray, f16ToF32 } from '../core/dtype.js';

export interface RmsNormParams {
  rows: number;
  /** row length (the normalized last axis) */
  n: number;
  eps: number;
  /** storage type of the weight */
  wDtype: 'f32' | 'f16' | 'bf16';
}

export function rmsNormRef([x, w, out]: (FloatArray | Uint16Array)[], p: RmsNormParams): void {
  const conv = p.wDtype === 'bf16' ? bf16ToF32 : p.wDtype === 'f16' ? f16ToF32 : (v: number) => v;
  const weight = Array.from({ length: p.n }, (_, i) => conv(w[i]));
  for (let r = 0; r < p.rows; r++) {
    const base = r * p.n;
    let ss = 0;
    for (let i = 0; i < p.n; i++) ss += x[base + i] * x[base + i];
    const inv = 1 / Math.sqrt(ss / p.n + p.eps);
    for (let i = 0; i < p.n; i++) out[base + i] = weight[i] * (x[base + i] * inv);
  }
}
