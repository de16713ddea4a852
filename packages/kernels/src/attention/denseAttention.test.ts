/**
 * denseAttentionForward / Backward (v2, local float64 loops) against v1, the loops through the shared
 * dot / axpy helpers, kept here as the oracle: every output bit must match (f32 and f64 arrays,
 * GQA ratios, windows, full ranges, empty ranges).
 */
import { describe, expect, it } from 'vitest';
import type { FloatArray } from '../core/dtype.js';
import { axpy, dot } from './common.js';
import { type DenseDims, denseAttentionBackward, denseAttentionForward, type KeyRange } from './denseAttention.js';

function rowProbsV1(q: FloatArray, k: FloatArray, t: number, h: number, lo: number, hi: number, x: DenseDims, p: Float64Array): number {
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

function forwardV1(q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, lse: FloatArray, x: DenseDims, range: KeyRange): void {
  const p = new Float64Array(x.tk);
  const acc = new Float64Array(x.d);
  for (let t = 0; t < x.tq; t++) {
    const [lo, hi] = range(t);
    for (let h = 0; h < x.hq; h++) {
      const g = Math.floor(h / (x.hq / x.hk));
      acc.fill(0);
      const l = hi >= lo ? rowProbsV1(q, k, t, h, lo, hi, x, p) : Number.NEGATIVE_INFINITY;
      for (let j = lo; j <= hi; j++) axpy(p[j - lo], v, (j * x.hk + g) * x.d, acc, 0, x.d);
      out.set(acc, (t * x.hq + h) * x.d);
      lse[t * x.hq + h] = l;
    }
  }
}

function backwardV1([q, k, v, dout]: FloatArray[], [dq, dk, dv]: FloatArray[], x: DenseDims, range: KeyRange): void {
  for (const a of [dq, dk, dv]) a.fill(0);
  const p = new Float64Array(x.tk);
  const dp = new Float64Array(x.tk);
  for (let t = 0; t < x.tq; t++) {
    const [lo, hi] = range(t);
    if (hi < lo) continue;
    for (let h = 0; h < x.hq; h++) {
      const g = Math.floor(h / (x.hq / x.hk));
      const qo = (t * x.hq + h) * x.d;
      rowProbsV1(q, k, t, h, lo, hi, x, p);
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

let seed = 7;
function random(f32: boolean, n: number): FloatArray {
  const xs = Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed / 2 ** 32) * 4 - 2;
  });
  return f32 ? Float32Array.from(xs) : Float64Array.from(xs);
}

function firstDiff(x: FloatArray, y: FloatArray): number {
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return i;
  return -1;
}

const CASES: { name: string; x: DenseDims; range: KeyRange }[] = [
  { name: 'window 5, GQA 2', x: { tq: 19, tk: 19, hq: 4, hk: 2, d: 7, scale: 0.37 }, range: (t) => [Math.max(0, t - 5), t] },
  { name: 'full range, MHA', x: { tq: 9, tk: 9, hq: 3, hk: 3, d: 16, scale: 0.25 }, range: () => [0, 8] },
  { name: 'empty rows, GQA 3', x: { tq: 6, tk: 8, hq: 3, hk: 1, d: 5, scale: 1 }, range: (t) => (t % 2 ? [t, t - 1] : [t, t + 2]) },
];

describe('dense attention v2 = v1 bit for bit', () => {
  for (const { name, x, range } of CASES) {
    for (const f32 of [true, false]) {
      it(`${name}, ${f32 ? 'f32' : 'f64'} arrays`, () => {
        const [nq, nk] = [x.tq * x.hq * x.d, x.tk * x.hk * x.d];
        const [q, k, v, dout] = [random(f32, nq), random(f32, nk), random(f32, nk), random(f32, nq)];
        const make = (n: number) => (f32 ? new Float32Array(n) : new Float64Array(n));
        const [o0, o1, l0, l1] = [make(nq), make(nq), make(x.tq * x.hq), make(x.tq * x.hq)];
        forwardV1(q, k, v, o0, l0, x, range);
        denseAttentionForward(q, k, v, o1, l1, x, range);
        expect(firstDiff(o1, o0)).toBe(-1);
        expect(firstDiff(l1, l0)).toBe(-1);
        const g0 = [make(nq), make(nk), make(nk)];
        const g1 = [make(nq), make(nk), make(nk)];
        backwardV1([q, k, v, dout], g0, x, range);
        denseAttentionBackward([q, k, v, dout], g1, x, range);
        for (let i = 0; i < 3; i++) expect(firstDiff(g1[i], g0[i])).toBe(-1);
      });
    }
  }
});
