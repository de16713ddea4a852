/** Backward kernels at sizes past one workgroup (the gradient tests use tiny ones), vs float64 oracles. */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { expectClose, freshSeed, randF32, reductionTol, rng, testBackends } from '../test-utils/index.js';
import { embeddingBackward, rmsNormBackward } from './backward-ops.js';

describe.each(testBackends())('backward kernels on %s', (_, make) => {
  it.each([
    [600, 7, 13],
    // two radix passes (vocab > 255), three sort blocks of 1024 ids, hot and unused rows
    [2500, 700, 5],
  ])('embeddingBackward: %i ids over %i rows, d %i, bad ids skipped, bit-identical on a rerun', async (n, vocab, d) => {
    const be = await make();
    const seed = freshSeed();
    const r = rng(seed);
    const ids = Int32Array.from({ length: n }, (_, i) => (i % 97 === 5 ? -1 : i % 89 === 3 ? vocab : i % 7 === 0 ? 1 : Math.floor(r() * vocab)));
    const dy = randF32(n * d, seed + 1);
    const want = new Float64Array(vocab * d);
    const sumAbs = new Float64Array(vocab * d);
    ids.forEach((id, t) => {
      if (id < 0) return;
      for (let j = 0; j < d; j++) {
        want[id * d + j] += dy[t * d + j];
        sumAbs[id * d + j] += Math.abs(dy[t * d + j]);
      }
    });
    const [ti, td] = [Tensor.from(be, ids, [n], 'i32'), Tensor.from(be, dy, [n, d])];
    const got = await embeddingBackward(ti, td, vocab).data();
    expectClose(got, want, (i) => reductionTol(n, sumAbs[i]), `seed ${seed}`);
    expect(await embeddingBackward(ti, td, vocab).data()).toEqual(got);
  });

  it('rmsNormBackward: dw over 300 rows of 257 (19 blocks of 16 rows, then a reduce)', async () => {
    const be = await make();
    const seed = freshSeed();
    const [rows, n, eps] = [300, 257, 1e-5];
    const x = randF32(rows * n, seed);
    const w = randF32(n, seed + 1);
    const dy = randF32(rows * n, seed + 2);
    const dw = new Float64Array(n);
    const abs = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let i = 0; i < n; i++) ss += x[r * n + i] ** 2;
      const inv = 1 / Math.sqrt(ss / n + Math.fround(eps));
      for (let i = 0; i < n; i++) {
        dw[i] += dy[r * n + i] * x[r * n + i] * inv;
        abs[i] += Math.abs(dy[r * n + i] * x[r * n + i] * inv);
      }
    }
    const out = rmsNormBackward(Tensor.from(be, x, [rows, n]), Tensor.from(be, w, [n]), Tensor.from(be, dy, [rows, n]), eps);
    // rstd itself carries the Σx² rounding (n terms) into every product
    expectClose(await out.dw.data(), dw, (i) => reductionTol(rows + n, abs[i], 4), `seed ${seed}`);
  });
});
