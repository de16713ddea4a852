/**
 * hsaRetrievalBackward on every backend against the CPU backward reference in float64 (checked by
 * finite differences in attentionGrad.test.ts), from the backend's own forward selection.
 */
import { type HsaRetrievalParams, hsaRetrievalBackwardRef, hsaSlots } from '@hsa/kernels';
import { describe, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { expectClose, freshSeed, randF32, testBackends, toF64 } from '../../test-utils/index.js';
import { hsaRetrieval } from './hsaRetrieval.js';
import { hsaRetrievalBackward } from './hsaRetrievalBackward.js';

const base = { s: 16, hr: 2, hk: 2, dr: 8, topk: 3, mode: 'softmax' as const };
const CASES: HsaRetrievalParams[] = [
  { ...base, t: 70, chunks: 4 },
  { ...base, t: 40, chunks: 2, topk: 8, mode: 'stickBreaking' },
  { ...base, t: 9, chunks: 12, hr: 1, hk: 3, posOffset: 150, posDecay: 0.3, dr: 5 },
  { ...base, t: 33, chunks: 6, maskWindow: 40, posOffset: 20, mode: 'stickBreaking' },
  { ...base, t: 21, chunks: 3, s: 4, hr: 1, hk: 1, mode: 'stickBreaking', scale: 12 },
  // 2 radix passes (300 landmark buckets)
  { ...base, t: 3, chunks: 300, s: 4, topk: 5, posOffset: 900, hr: 1, hk: 2, posDecay: -0.2 },
];

/** f32 scores (dr-term dots) and weights feed sums of ≤ k·Hk (dqr) or T·k (dlmk) terms: relative to the largest gradient. */
function gradTol(want: Float64Array, c: HsaRetrievalParams, terms: number): number {
  const m = want.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
  const s = (c.scale ?? 1 / Math.sqrt(c.dr)) * Math.sqrt(c.dr);
  return 64 * 2 ** -23 * (4 * c.dr * s + terms) * (m + 1e-3);
}

describe.each(testBackends())('hsaRetrievalBackward on %s', (_name, makeBackend) => {
  it.each(CASES)('%j', async (c) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const k = hsaSlots(c);
    const qr = randF32(c.t * c.hr * c.dr, seed);
    const lmk = randF32(c.chunks * c.hr * c.dr, seed + 1);
    const dw = randF32(c.t * c.hk * k, seed + 2);
    const [tq, tl] = [Tensor.from(be, qr, [c.t, c.hr, c.dr]), Tensor.from(be, lmk, [c.chunks, c.hr, c.dr])];
    const options = { chunkSize: c.s, topk: c.topk, mode: c.mode, hk: c.hk, posDecay: c.posDecay, posOffset: c.posOffset, maskWindow: c.maskWindow, scale: c.scale };
    const fwd = hsaRetrieval(tq, tl, options);
    const g = hsaRetrievalBackward(tq, tl, fwd, Tensor.from(be, dw, [c.t, c.hk, k]), options);
    const [wq, wl, wp] = [new Float64Array(qr.length), new Float64Array(lmk.length), new Float64Array(1)];
    hsaRetrievalBackwardRef([toF64(qr), toF64(lmk), toF64(dw), wq, wl, wp], c);
    const label = `seed=${seed}`;
    expectClose(await g.dqr.data(), wq, gradTol(wq, c, k * c.hk), `dqr ${label}`);
    expectClose(await g.dlmk.data(), wl, gradTol(wl, c, c.t * k * c.hk), `dlmk ${label}`);
    expectClose(await g.dPosDecay.data(), wp, gradTol(wp, c, c.t * k * c.hk * k), `dPosDecay ${label}`);
  });
});
