/**
 * SWA and chunk-encoder forward references against an independent float64 oracle: the full T×T score
 * matrix with an explicit mask, then softmax and the weighted sum (reference-model.md §3.2, §3.5).
 */
import { chunkEncoderAttentionForwardRef, swaAttentionForwardRef } from '@hsa/kernels';
import { describe, it } from 'vitest';
import { expectClose, freshSeed } from '../../test-utils/index.js';
import { randF64, rng } from './helpers.js';

/** out[t,h] by the textbook formula; `mask(t, j)` says whether key j is visible. */
function oracle(q: Float64Array, k: Float64Array, v: Float64Array, T: number, hq: number, hk: number, d: number, mask: (t: number, j: number) => boolean) {
  const out = new Float64Array(T * hq * d);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < hq; h++) {
      const g = Math.floor((h * hk) / hq);
      const e = Array.from({ length: T }, (_, j) => {
        if (!mask(t, j)) return 0;
        let s = 0;
        for (let i = 0; i < d; i++) s += q[(t * hq + h) * d + i] * k[(j * hk + g) * d + i];
        return Math.exp(s / Math.sqrt(d));
      });
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < T; j++) {
        for (let i = 0; i < d; i++) out[(t * hq + h) * d + i] += (e[j] / z) * v[(j * hk + g) * d + i];
      }
    }
  }
  return out;
}

describe('attention forward vs a masked-matrix oracle', () => {
  it.each([
    [1, 1, 1, 0],
    [11, 4, 1, 3],
    [11, 3, 3, 100],
    [9, 6, 2, 1],
  ])('swa T=%i hq=%i hk=%i window=%i', (T, hq, hk, window) => {
    const seed = freshSeed();
    const r = rng(seed);
    const d = 5;
    const [q, k, v] = [randF64(T * hq * d, r, -2, 2), randF64(T * hk * d, r, -2, 2), randF64(T * hk * d, r)];
    const out = new Float32Array(T * hq * d);
    swaAttentionForwardRef([Float32Array.from(q), Float32Array.from(k), Float32Array.from(v), out], { t: T, hq, hk, d, window });
    const want = oracle(q.map(Math.fround), k.map(Math.fround), v.map(Math.fround), T, hq, hk, d, (t, j) => j <= t && j >= t - window);
    // float64 sums stored to f32: one rounding of the result
    expectClose(out, want, (i) => 2 ** -23 * Math.abs(want[i]) + 1e-7, `seed=${seed}`);
  });

  it.each([
    [4, 1],
    [2, 2],
  ])('chunk encoder hq=%i hk=%i (bidirectional, per chunk)', (hq, hk) => {
    const seed = freshSeed();
    const r = rng(seed);
    const [n, T, d] = [3, 7, 4];
    const [q, k, v] = [randF64(n * T * hq * d, r), randF64(n * T * hk * d, r), randF64(n * T * hk * d, r)];
    const out = new Float64Array(n * T * hq * d);
    chunkEncoderAttentionForwardRef([q, k, v, out], { n, t: T, hq, hk, d });
    for (let c = 0; c < n; c++) {
      const part = (a: Float64Array, h: number) => a.subarray(c * T * h * d, (c + 1) * T * h * d);
      const want = oracle(part(q, hq), part(k, hk), part(v, hk), T, hq, hk, d, () => true);
      expectClose(part(out, hq), want, 1e-12, `chunk ${c} seed=${seed}`);
    }
  });
});
