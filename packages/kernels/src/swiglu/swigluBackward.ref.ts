/**
 * swigluBackward: with s = σ(g), out = g·s·u:
 *   dgate = dy·u·s·(1 + g·(1 − s)),  dup = dy·g·s.
 */
import type { FloatArray } from '../core/dtype.js';

export interface SwigluBackwardParams {
  /** element count */
  n: number;
}

/** Arrays: gate, up, dy, then outputs dgate, dup. */
export function swigluBackwardRef([gate, up, dy, dgate, dup]: FloatArray[], p: SwigluBackwardParams): void {
  for (let i = 0; i < p.n; i++) {
    const g = gate[i];
    const s = 1 / (1 + Math.exp(-g));
    dgate[i] = dy[i] * up[i] * s * (1 + g * (1 - s));
    dup[i] = dy[i] * g * s;
  }
}
