/**
 * moeGatherMatvecForward (decode): for a few assignments a = t·k + j with expert e = idx[a], read only
 * expert e's rows of the stacked weights [E, N, K] (f32 or packed f16/bf16):
 *   gateUp:      act[a, n] = silu(x_t·Wg[e, n]) · (x_t·Wu[e, n]),  t = ⌊a / k⌋
 *                with a shared expert of width Ns (`shared`): also actS[t, n] = silu(x_t·Sg[n]) · (x_t·Su[n])
 *   down:        y[a, n]   = act[a]·Wd[e, n]
 *   downCombine: out[t, n] = Σ_j w[t·k + j]·(act[t·k + j]·Wd[e, n])  (+ actS[t]·Sd[n], Sd [N, Ns])
 *                the expert outputs, weighted and summed with the shared expert's: the layer's output
 * The sums are in f32 on the GPU; these references accumulate in float64.
 */
import type { FloatArray, TypedArray } from '../core/dtype.js';
import { weightReader } from './moeGroupedMatmul.ref.js';
import { type MoeRouterParams, moeRouterRef } from './moeRouter.ref.js';

export interface MoeGatherMatvecParams {
  mode: 'gateUp' | 'down' | 'downCombine';
  /** assignments (rows of act: tokens · k) */
  A: number;
  /** experts per token */
  k: number;
  /** output rows per assignment (gateUp: F; down, downCombine: d) */
  N: number;
  /** reduction length of the routed experts (gateUp: d; down, downCombine: F) */
  K: number;
  wDtype: 'f32' | 'f16' | 'bf16';
  /** the shared expert's width Ns (gateUp: its rows; downCombine: its reduction length); 0 or absent: none */
  shared?: number;
  /**
   * gateUp only: the experts are chosen in the kernel from router logits [T, E] and the bias [E]
   * (moeRouterRef's rule, k = `k`); idx [A] and the combine weights [A] become outputs
   */
  route?: Omit<MoeRouterParams, 'T' | 'k' | 'variant'>;
}

const dotRow = (x: ArrayLike<number>, xo: number, w: (i: number) => number, wo: number, K: number) => {
  let s = 0;
  for (let c = 0; c < K; c++) s += x[xo + c] * w(wo + c);
  return s;
};
const silu = (g: number) => g / (1 + Math.exp(-g));

/**
 * gateUp arrays: x [T,K], idx [A], Wg, Wu, (Sg, Su [Ns,K]) → act [A,N] (, actS [T,Ns]); with `route`,
 * idx is an output and logits [T,E], bias [E] → weights [A] follow;
 * down: act [A,K], idx, Wd → y [A,N]; downCombine: act [A,K], idx, Wd, w [A] (, actS [T,Ns], Sd [N,Ns]) → out [T,N].
 */
export function moeGatherMatvecRef(arrays: TypedArray[], p: MoeGatherMatvecParams): void {
  const { N, K, k } = p;
  const Ns = p.shared ?? 0;
  const T = p.A / k;
  const [x, idx] = arrays;
  const rd = (i: number) => weightReader(arrays[i], p.wDtype);
  if (p.mode === 'gateUp') {
    if (p.route) {
      const [logits, bias, weights] = arrays.slice(Ns ? 8 : 5);
      moeRouterRef([logits, bias, new Float32Array(T * p.route.E), idx, weights], { ...p.route, T, k });
    }
    const [wg, wu] = [rd(2), rd(3)];
    const out = arrays[Ns ? 6 : 4] as FloatArray;
    for (let a = 0; a < p.A; a++) {
      const xo = Math.floor(a / k) * K;
      for (let n = 0; n < N; n++) out[a * N + n] = silu(dotRow(x, xo, wg, (idx[a] * N + n) * K, K)) * dotRow(x, xo, wu, (idx[a] * N + n) * K, K);
    }
    if (Ns) {
      const [sg, su, outS] = [rd(4), rd(5), arrays[7] as FloatArray];
      for (let t = 0; t < T; t++) for (let n = 0; n < Ns; n++) outS[t * Ns + n] = silu(dotRow(x, t * K, sg, n * K, K)) * dotRow(x, t * K, su, n * K, K);
    }
    return;
  }
  const wd = rd(2);
  if (p.mode === 'down') {
    const out = arrays[3] as FloatArray;
    for (let a = 0; a < p.A; a++) for (let n = 0; n < N; n++) out[a * N + n] = dotRow(x, a * K, wd, (idx[a] * N + n) * K, K);
    return;
  }
  const w = arrays[3];
  const [actS, sd] = Ns ? [arrays[4], rd(5)] : [null, null];
  const out = arrays[Ns ? 6 : 4] as FloatArray;
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let j = 0; j < k; j++) {
        const a = t * k + j;
        s += w[a] * dotRow(x, a * K, wd, (idx[a] * N + n) * K, K);
      }
      if (actS && sd) s += dotRow(actS, t * Ns, sd, n * Ns, Ns);
      out[t * N + n] = s;
    }
  }
}
