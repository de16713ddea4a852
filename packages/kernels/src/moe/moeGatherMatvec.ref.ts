/**
 * moeGatherMatvecForward (decode): for a few assignments a = t·k + j with expert e = idx[a], read only
 * expert e's rows of the stacked weights [E, N, K] (f32 or packed f16/bf16):
 *   gateUp: act[a, n] = silu(x_t·Wg[e, n]) · (x_t·Wu[e, n]),  t = ⌊a / k⌋
 *   down:   y[a, n]   = act[a]·Wd[e, n]
 */
import type { FloatArray, TypedArray } from '../core/dtype.js';
import { weightReader } from './moeGroupedMatmul.ref.js';

export interface MoeGatherMatvecParams {
  mode: 'gateUp' | 'down';
  /** assignments (rows of the output) */
  A: number;
  /** experts per token */
  k: number;
  N: number;
  K: number;
  wDtype: 'f32' | 'f16' | 'bf16';
}

/** gateUp arrays: x [T,K], idx [A], Wg, Wu → act [A,N]; down arrays: act [A,K], idx, Wd → y [A,N]. */
export function moeGatherMatvecRef(arrays: TypedArray[], p: MoeGatherMatvecParams): void {
  const { N, K } = p;
  const [x, idx] = arrays;
  const gate = p.mode === 'gateUp';
  const w0 = weightReader(arrays[2], p.wDtype);
  const w1 = gate ? weightReader(arrays[3], p.wDtype) : w0;
  const out = arrays[gate ? 4 : 3] as FloatArray;
  for (let a = 0; a < p.A; a++) {
    const xo = (gate ? Math.floor(a / p.k) : a) * K;
    for (let n = 0; n < N; n++) {
      const wo = (idx[a] * N + n) * K;
      let g = 0;
      let v = 0;
      for (let c = 0; c < K; c++) {
        g += x[xo + c] * w0(wo + c);
        if (gate) v += x[xo + c] * w1(wo + c);
      }
      out[a * N + n] = gate ? (g / (1 + Math.exp(-g))) * v : g;
    }
  }
}
