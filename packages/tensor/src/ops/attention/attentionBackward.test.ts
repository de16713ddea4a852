/**
 * swaAttentionBackward and chunkEncoderAttentionBackward on every backend against the CPU backward
 * references run in float64 (those are checked by finite differences in attentionGrad.test.ts).
 */
import { chunkEncoderAttentionBackwardRef, swaAttentionBackwardRef } from '@hsa/kernels';
import { describe, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { expectClose, freshSeed, randF32, testBackends, toF64 } from '../../test-utils/index.js';
import { chunkEncoderAttentionBackward, swaAttentionBackward } from './attentionBackward.js';
import { chunkEncoderAttentionWithLse, swaAttentionWithLse } from './swaAttention.js';

/**
 * Each gradient is a sum over ≤ `terms` (row, key) pairs of products whose f32 error is dominated by
 * p = exp(s − lse) (|s| ≤ 4D: a few ε·4D relative) and the f32 lse/delta: bound it by
 * 64·ε·(4D + terms) relative to the tensor's largest gradient (elementwise bounds mean nothing where
 * terms cancel).
 */
function gradTol(want: Float64Array, d: number, terms: number): number {
  const m = want.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
  return 64 * 2 ** -23 * (4 * d + terms) * (m + 1e-3);
}

async function expectGrads(got: Tensor[], want: Float64Array[], d: number, terms: number, label: string) {
  const names = ['dq', 'dk', 'dv'];
  for (let i = 0; i < 3; i++) expectClose(await got[i].data(), want[i], gradTol(want[i], d, terms), `${names[i]} ${label}`);
  for (const t of got) t.dispose();
}

describe.each(testBackends())('dense attention backward on %s', (_name, makeBackend) => {
  it.each([
    [1, 1, 1, 4, 0],
    [70, 4, 1, 16, 5],
    [67, 6, 2, 33, 100],
    [29, 3, 3, 8, 1],
    [12, 2, 1, 66, 9],
    [9, 3, 1, 130, 3],
  ])('swaAttentionBackward T=%i hq=%i hk=%i d=%i window=%i', async (T, hq, hk, d, window) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const [q, k, v] = [randF32(T * hq * d, seed, -2, 2), randF32(T * hk * d, seed + 1, -2, 2), randF32(T * hk * d, seed + 2)];
    const dout = randF32(T * hq * d, seed + 3);
    const [tq, tk, tv] = [Tensor.from(be, q, [T, hq, d]), Tensor.from(be, k, [T, hk, d]), Tensor.from(be, v, [T, hk, d])];
    const { out, lse } = swaAttentionWithLse(tq, tk, tv, { window });
    if (!lse) throw new Error('no lse');
    const g = swaAttentionBackward(tq, tk, tv, out, lse, Tensor.from(be, dout, [T, hq, d]), { window });
    const want = [T * hq * d, T * hk * d, T * hk * d].map((n) => new Float64Array(n));
    swaAttentionBackwardRef([toF64(q), toF64(k), toF64(v), toF64(dout), ...want], { t: T, hq, hk, d, window });
    await expectGrads([g.dq, g.dk, g.dv], want, d, (window + 1) * (hq / hk), `seed=${seed}`);
  });

  it.each([
    [3, 37, 4, 2, 16, 8],
    [4, 9, 2, 1, 8, 20],
    [2, 64, 32, 2, 128, 40],
  ])('swaAttentionBackward of %i packed sequences of %i (hq=%i hk=%i d=%i window=%i) = each sequence alone', async (n, L, hq, hk, d, window) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const T = n * L;
    const [q, k, v] = [randF32(T * hq * d, seed, -2, 2), randF32(T * hk * d, seed + 1, -2, 2), randF32(T * hk * d, seed + 2)];
    const dout = randF32(T * hq * d, seed + 3);
    const [tq, tk, tv] = [Tensor.from(be, q, [T, hq, d]), Tensor.from(be, k, [T, hk, d]), Tensor.from(be, v, [T, hk, d])];
    const { out, lse } = swaAttentionWithLse(tq, tk, tv, { window, segment: L });
    if (!lse) throw new Error('no lse');
    const g = swaAttentionBackward(tq, tk, tv, out, lse, Tensor.from(be, dout, [T, hq, d]), { window, segment: L });
    // the oracle: each sequence through the unsegmented reference on its own
    const [nq, nk] = [L * hq * d, L * hk * d];
    const want = [T * hq * d, T * hk * d, T * hk * d].map((x) => new Float64Array(x));
    for (let b = 0; b < n; b++) {
      const part = [nq, nk, nk].map((x) => new Float64Array(x));
      const sl = (a: Float32Array, m: number) => toF64(a.subarray(b * m, (b + 1) * m));
      swaAttentionBackwardRef([sl(q, nq), sl(k, nk), sl(v, nk), sl(dout, nq), ...part], { t: L, hq, hk, d, window });
      for (const [i, m] of [nq, nk, nk].entries()) want[i].set(part[i], b * m);
    }
    await expectGrads([g.dq, g.dk, g.dv], want, d, (window + 1) * (hq / hk), `seed=${seed}`);
  });

  it.each([
    [3, 65, 8, 2, 16],
    [2, 7, 3, 1, 5],
    [4, 5, 2, 2, 3],
  ])('chunkEncoderAttentionBackward n=%i T=%i hq=%i hk=%i d=%i', async (n, T, hq, hk, d) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const [nq, nk] = [n * T * hq * d, n * T * hk * d];
    const [q, k, v, dout] = [randF32(nq, seed), randF32(nk, seed + 1), randF32(nk, seed + 2), randF32(nq, seed + 3)];
    const [tq, tk, tv] = [Tensor.from(be, q, [n, T, hq, d]), Tensor.from(be, k, [n, T, hk, d]), Tensor.from(be, v, [n, T, hk, d])];
    const { out, lse } = chunkEncoderAttentionWithLse(tq, tk, tv);
    if (!lse) throw new Error('no lse');
    const g = chunkEncoderAttentionBackward(tq, tk, tv, out, lse, Tensor.from(be, dout, [n, T, hq, d]));
    const want = [nq, nk, nk].map((x) => new Float64Array(x));
    chunkEncoderAttentionBackwardRef([toF64(q), toF64(k), toF64(v), toF64(dout), ...want], { n, t: T, hq, hk, d });
    await expectGrads([g.dq, g.dk, g.dv], want, d, T * (hq / hk), `seed=${seed}`);
  });
});
