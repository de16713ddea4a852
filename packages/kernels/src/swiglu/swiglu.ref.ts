/** swigluForward: out[i] = silu(gate[i]) · up[i], silu(g) = g / (1 + exp(−g)). */
import type { FloatArray } from '../core/dtype.js';

export interface SwigluParams {
  /** element count */
  n: number;
}

export function swigluRef([gate, up, out]: FloatArray[], p: SwigluParams): void {
  for (let i = 0; i < p.n; i++) out[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
}
