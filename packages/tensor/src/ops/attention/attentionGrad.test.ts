/**
 * Finite-difference checks (float64, central differences) of every attention backward reference, on
 * small awkward sizes: T not a multiple of S, t < S, fewer visible chunks than k, Hk = 1 and Hk = Hq.
 */
import {
  chunkEncoderAttentionBackwardRef,
  chunkEncoderAttentionForwardRef,
  type FusionMode,
  type HsaChunkAttentionParams,
  type HsaRetrievalParams,
  hsaChunkAttentionBackwardRef,
  hsaChunkAttentionForwardRef,
  hsaRetrievalBackwardRef,
  hsaRetrievalRef,
  hsaSlots,
  swaAttentionBackwardRef,
  swaAttentionForwardRef,
} from '@hsa/kernels';
import { describe, it } from 'vitest';
import { freshSeed } from '../../test-utils/index.js';
import { dotAll, expectGradient, randF64, rng } from './helpers.js';

const HEADS: [number, number][] = [
  [4, 1],
  [3, 3],
  [6, 2],
];

describe('SWA / chunk-encoder attention backward', () => {
  it.each(HEADS.flatMap(([hq, hk]) => [0, 2, 9].map((w) => [hq, hk, w])))('swa hq=%i hk=%i window=%i', (hq, hk, window) => {
    const seed = freshSeed();
    const r = rng(seed);
    const p = { t: 7, hq, hk, d: 3, window };
    const [q, dout] = [randF64(7 * hq * 3, r), randF64(7 * hq * 3, r)];
    const [k, v] = [randF64(7 * hk * 3, r), randF64(7 * hk * 3, r)];
    const [dq, dk, dv] = [new Float64Array(q.length), new Float64Array(k.length), new Float64Array(v.length)];
    swaAttentionBackwardRef([q, k, v, dout, dq, dk, dv], p);
    const out = new Float64Array(q.length);
    const loss = () => {
      swaAttentionForwardRef([q, k, v, out], p);
      return dotAll(out, dout);
    };
    expectGradient(`dq seed=${seed}`, q, dq, loss);
    expectGradient(`dk seed=${seed}`, k, dk, loss);
    expectGradient(`dv seed=${seed}`, v, dv, loss);
  });

  it.each(HEADS)('chunk encoder hq=%i hk=%i', (hq, hk) => {
    const seed = freshSeed();
    const r = rng(seed);
    const p = { n: 2, t: 5, hq, hk, d: 4 };
    const nq = 2 * 5 * hq * 4;
    const nk = 2 * 5 * hk * 4;
    const [q, dout, k, v] = [randF64(nq, r), randF64(nq, r), randF64(nk, r), randF64(nk, r)];
    const [dq, dk, dv] = [new Float64Array(nq), new Float64Array(nk), new Float64Array(nk)];
    chunkEncoderAttentionBackwardRef([q, k, v, dout, dq, dk, dv], p);
    const out = new Float64Array(nq);
    const loss = () => {
      chunkEncoderAttentionForwardRef([q, k, v, out], p);
      return dotAll(out, dout);
    };
    expectGradient(`dq seed=${seed}`, q, dq, loss);
    expectGradient(`dk seed=${seed}`, k, dk, loss);
    expectGradient(`dv seed=${seed}`, v, dv, loss);
  });
});

describe('HSA chunk attention backward', () => {
  it.each(HEADS.flatMap(([hq, hk]) => [0, 1].map((smN) => [hq, hk, smN])))('hq=%i hk=%i smN=%i', (hq, hk, smN) => {
    const seed = freshSeed();
    const r = rng(seed);
    const p: HsaChunkAttentionParams = { t: 5, hq, hk, d: 3, s: 4, chunks: 3, k: 2, smN: smN as 0 | 1 };
    const nq = 5 * hq * 3;
    const nm = 3 * 4 * hk * 3;
    const [q, dout, memK, memV] = [randF64(nq, r, -2, 2), randF64(nq, r), randF64(nm, r, -2, 2), randF64(nm, r)];
    const idx = Int32Array.from({ length: 5 * hk * 2 }, () => Math.floor(r() * 3));
    // some slots carry weight 0 (invalid / masked): they still get a weight gradient
    const w = Float64Array.from(idx, () => (r() < 0.25 ? 0 : r()));
    const [dq, dK, dV, dw] = [new Float64Array(nq), new Float64Array(nm), new Float64Array(nm), new Float64Array(w.length)];
    hsaChunkAttentionBackwardRef([q, memK, memV, idx, w, dout, dq, dK, dV, dw], p);
    const out = new Float64Array(nq);
    const loss = () => {
      hsaChunkAttentionForwardRef([q, memK, memV, idx, w, out], p);
      return dotAll(out, dout);
    };
    expectGradient(`dq seed=${seed}`, q, dq, loss);
    expectGradient(`dK seed=${seed}`, memK, dK, loss);
    expectGradient(`dV seed=${seed}`, memV, dV, loss);
    expectGradient(`dw seed=${seed}`, w, dw, loss);
  });
});

interface RetrievalCase {
  name: string;
  hr: number;
  hk: number;
  topk: number;
  mode: FusionMode;
  posDecay?: number;
  maskWindow?: number;
  scale?: number;
}

const RETRIEVAL: RetrievalCase[] = [
  { name: 'softmax, k > visible chunks', hr: 2, hk: 2, topk: 5, mode: 'softmax' },
  { name: 'softmax + pos_decay', hr: 2, hk: 2, topk: 2, mode: 'softmax', posDecay: 0.3 },
  { name: 'stick-breaking', hr: 2, hk: 2, topk: 2, mode: 'stickBreaking' },
  { name: 'stick-breaking, scores past the softplus threshold', hr: 1, hk: 1, topk: 3, mode: 'stickBreaking', scale: 12 },
  { name: 'singlehead, hk = 3', hr: 1, hk: 3, topk: 2, mode: 'softmax' },
  { name: 'mask_slide_window', hr: 2, hk: 2, topk: 3, mode: 'stickBreaking', maskWindow: 6 },
  { name: 'mask_slide_window softmax + pos_decay', hr: 1, hk: 2, topk: 3, mode: 'softmax', maskWindow: 5, posDecay: -0.2 },
];

describe('HSA retrieval backward (fusion → selected scores → qr, landmarks)', () => {
  it.each(RETRIEVAL)('$name', (c) => {
    const seed = freshSeed();
    const r = rng(seed);
    // S = 4, T = 11 (not a multiple of S; rows t < S have no visible chunk), C = 3
    const { name: _n, ...rest } = c;
    const p: HsaRetrievalParams = { t: 11, chunks: 3, s: 4, dr: 3, ...rest };
    const k = hsaSlots(p);
    const qr = randF64(11 * c.hr * 3, r);
    const lmk = randF64(3 * c.hr * 3, r);
    const dw = randF64(11 * c.hk * k, r);
    const [dqr, dlmk, dpd] = [new Float64Array(qr.length), new Float64Array(lmk.length), new Float64Array(1)];
    hsaRetrievalBackwardRef([qr, lmk, dw, dqr, dlmk, dpd], p);
    const idx = new Int32Array(dw.length);
    const w = new Float64Array(dw.length);
    const pd = Float64Array.of(c.posDecay ?? 0);
    const loss = () => {
      hsaRetrievalRef([qr, lmk, idx, w], { ...p, posDecay: pd[0] });
      return dotAll(w, dw);
    };
    expectGradient(`dqr seed=${seed}`, qr, dqr, loss);
    expectGradient(`dlmk seed=${seed}`, lmk, dlmk, loss);
    if (c.posDecay !== undefined) expectGradient(`dPosDecay seed=${seed}`, pd, dpd, loss);
  });
});
