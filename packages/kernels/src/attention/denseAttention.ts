/**
 * The softmax-attention core shared by SWA and the chunk encoder: each query row t attends to the
 * contiguous key range [lo(t), hi(t)] (inclusive) of its KV head.
 *   out[t,h] = Σ_j softmax_j(q[t,h]·k[j,g]·scale) v[j,g],   g = floor(h / (hq/hk))
 * Layouts, row-major: q, out, dq [tq, hq, d]; k, v, dk, dv [tk, hk, d]; lse [tq, hq].
 * Sums run in float64 whatever the array type; an empty range gives out = 0 and lse = −∞.
 */
import type { FloatArray } from '../core/dtype.js';
import { axpy, dot } from './common.js';

export interface DenseDims {
  tq: number;
  tk: number;
  hq: number;
  hk: number;
  d: number;
  scale: number;
}

/** Inclusive key range of query row t. */
export type KeyRange = (t: number) => readonly [number, number];

/** Softmax probabilities of one (t, h) row over keys lo..hi into p[0..hi−lo]; returns log Σ e^z. */
function rowProbs(q: FloatArray, k: FloatArray, t: number, h: number, lo: number, hi: number, x: DenseDims, p: Float64Array): number {
  const g = Math.floor(h / (x.hq / x.hk));
  const qo = (t * x.hq + h) * x.d;
  let m = Number.NEGATIVE_INFINITY;
  for (let j = lo; j <= hi; j++) {
    const z = dot(q, qo, k, (j * x.hk + g) * x.d, x.d) * x.scale;
    p[j - lo] = z;
    if (z > m) m = z;
  }
  let sum = 0;
  for (let j = lo; j <= hi; j++) sum += p[j - lo] = Math.exp(p[j - lo] - m);
  for (let j = lo; j <= hi; j++) p[j - lo] /= sum;
  return m + Math.log(sum);
}

export function denseAttentionForward(
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  out: FloatArray,
  lse: FloatArray | null,
  x: DenseDims,
  range: KeyRange,
): void {
  const p = new Float64Array(x.tk);
  const acc = new Float64Array(x.d);
  const ratio = x.hq / x.hk;
  for (let t = 0; t < x.tq; t++) {
    const [lo, hi] = range(t);
    for (let h = 0; h < x.hq; h++) {
      const g = Math.floor(h / ratio);
      acc.fill(0);
      const l = hi >= lo ? rowProbs(q, k, t, h, lo, hi, x, p) : Number.NEGATIVE_INFINITY;
      for (let j = lo; j <= hi; j++) axpy(p[j - lo], v, (j * x.hk + g) * x.d, acc, 0, x.d);
      out.set(acc, (t * x.hq + h) * x.d);
      if (lse) lse[t * x.hq + h] = l;
    }
  }
}

/** dq, dk, dv (overwritten) of Σ dout·out; probabilities are recomputed from q and k. */
export function denseAttentionBackward(
  [q, k, v, dout]: FloatArray[],
  [dq, dk, dv]: FloatArray[],
  x: DenseDims,
  range: KeyRange,
): void {
  dq.fill(0);
  dk.fill(0);
  dv.fill(0);
  const p = new Float64Array(x.tk);
  const dp = new Float64Array(x.tk);
  const ratio = x.hq / x.hk;
  for (let t = 0; t < x.tq; t++) {
    const [lo, hi] = range(t);
    if (hi < lo) continue;
    for (let h = 0; h < x.hq; h++) {
      const g = Math.floor(h / ratio);
      const qo = (t * x.hq + h) * x.d;
      rowProbs(q, k, t, h, lo, hi, x, p);
      let delta = 0;
      for (let j = lo; j <= hi; j++) {
        const kv = (j * x.hk + g) * x.d;
        dp[j - lo] = dot(dout, qo, v, kv, x.d);
        delta += p[j - lo] * dp[j - lo];
        axpy(p[j - lo], dout, qo, dv, kv, x.d);
      }
      for (let j = lo; j <= hi; j++) {
        const kv = (j * x.hk + g) * x.d;
        const ds = p[j - lo] * (dp[j - lo] - delta) * x.scale;
        axpy(ds, k, kv, dq, qo, x.d);
        axpy(ds, q, qo, dk, kv, x.d);
      }
    }
  }
}
