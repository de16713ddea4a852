/** Decode forms equal the full-sequence forms token by token (float64, so the match is to rounding). */
import {
  type HsaRetrievalParams,
  hsaChunkAttentionDecodeRef,
  hsaChunkAttentionForwardRef,
  hsaRetrievalDecodeRef,
  hsaRetrievalRef,
  hsaSlots,
  swaAttentionDecodeRef,
  swaAttentionForwardRef,
} from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { expectClose, freshSeed } from '../../test-utils/index.js';
import { randF64, rng } from './helpers.js';

describe('swaAttentionDecode (ring buffer of the last W keys) = swaAttentionForward', () => {
  it.each([
    [4, 1, 0],
    [4, 2, 3],
    [3, 3, 5],
    [2, 1, 40],
  ])('hq=%i hk=%i window=%i', (hq, hk, window) => {
    const seed = freshSeed();
    const r = rng(seed);
    const T = 13;
    const d = 5;
    const [q, k, v] = [randF64(T * hq * d, r), randF64(T * hk * d, r), randF64(T * hk * d, r)];
    const full = new Float64Array(T * hq * d);
    swaAttentionForwardRef([q, k, v, full], { t: T, hq, hk, d, window });
    const kCache = new Float64Array(window * hk * d).fill(Number.NaN);
    const vCache = new Float64Array(window * hk * d).fill(Number.NaN);
    const out = new Float64Array(hq * d);
    for (let t = 0; t < T; t++) {
      const row = (a: Float64Array, h: number) => a.subarray(t * h * d, (t + 1) * h * d);
      swaAttentionDecodeRef([row(q, hq), row(k, hk), row(v, hk), kCache, vCache, out], { pos: t, hq, hk, d, window });
      expectClose(out, row(full, hq), 1e-12, `t=${t} seed=${seed}`);
    }
  });
});

describe('hsaRetrievalDecode + hsaChunkAttentionDecode over the chunks stored so far = full forms', () => {
  const cases: (Partial<HsaRetrievalParams> & { name: string })[] = [
    { name: 'softmax, hr = hk = 2', hr: 2, hk: 2, topk: 3, mode: 'softmax' },
    { name: 'stick-breaking, singlehead, hk = 3', hr: 1, hk: 3, topk: 2, mode: 'stickBreaking' },
    { name: 'softmax + pos_decay + mask_slide_window', hr: 1, hk: 1, topk: 3, mode: 'softmax', posDecay: 0.4, maskWindow: 6 },
  ];
  it.each(cases)('$name', ({ name: _n, ...c }) => {
    const seed = freshSeed();
    const r = rng(seed);
    const [T, S, C, dr, d, hq] = [23, 4, 5, 3, 2, 6];
    const p = { t: T, chunks: C, s: S, dr, ...c } as HsaRetrievalParams;
    const { hr, hk } = p;
    const [qr, lmk, q] = [randF64(T * hr * dr, r), randF64(C * hr * dr, r), randF64(T * hq * d, r)];
    const [memK, memV] = [randF64(C * S * hk * d, r), randF64(C * S * hk * d, r)];
    const K = hsaSlots(p);
    const idx = new Int32Array(T * hk * K);
    const w = new Float64Array(T * hk * K);
    const ctx = new Float64Array(T * hq * d);
    hsaRetrievalRef([qr, lmk, idx, w], p);
    hsaChunkAttentionForwardRef([q, memK, memV, idx, w, ctx], { t: T, hq, hk, d, s: S, chunks: C, k: K });
    for (let t = 0; t < T; t++) {
      // the chunk completed by token t is stored before its retrieval (it still cannot select it)
      const stored = Math.min(C, Math.floor((t + 1) / S));
      const k = hsaSlots({ chunks: stored, topk: p.topk });
      const di = new Int32Array(hk * k);
      const dw = new Float64Array(hk * k);
      const lm = lmk.subarray(0, stored * hr * dr);
      hsaRetrievalDecodeRef([qr.subarray(t * hr * dr, (t + 1) * hr * dr), lm, di, dw], { ...p, chunks: stored, pos: t });
      for (let g = 0; g < hk; g++) {
        for (let j = 0; j < K; j++) {
          const full = (t * hk + g) * K + j;
          // slots past the decode's k_eff are invalid in the full form: weight 0
          const wd = j < k ? dw[g * k + j] : 0;
          expect(Math.abs(w[full] - wd), `w t=${t} g=${g} j=${j} seed=${seed}`).toBeLessThan(1e-12);
          if (w[full] !== 0) expect(di[g * k + j], `idx t=${t} g=${g} j=${j} seed=${seed}`).toBe(idx[full]);
        }
      }
      const out = new Float64Array(hq * d);
      const mem = stored * S * hk * d;
      const qt = q.subarray(t * hq * d, (t + 1) * hq * d);
      hsaChunkAttentionDecodeRef([qt, memK.subarray(0, mem), memV.subarray(0, mem), di, dw, out], { hq, hk, d, s: S, chunks: stored, k });
      expectClose(out, ctx.subarray(t * hq * d, (t + 1) * hq * d), 1e-12, `ctx t=${t} seed=${seed}`);
      if (t < S) expect(Array.from(out).every((x) => x === 0)).toBe(true);
    }
  });
});
