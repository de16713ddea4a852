/** Fused cross-entropy rows against a float64 oracle on every backend, with masked rows. */
import { ShapeError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { expectClose, freshSeed, randF32, rng, testBackends, workgroupReductionTol } from '../test-utils/index.js';
import { crossEntropyRows } from './crossEntropy.js';

function oracle(x: Float32Array, t: Int32Array, v: number) {
  const rows = t.length;
  const loss = new Float64Array(rows);
  const grad = new Float64Array(rows * v);
  for (let r = 0; r < rows; r++) {
    if (t[r] < 0 || t[r] >= v) continue;
    const row = Array.from(x.subarray(r * v, (r + 1) * v));
    const m = Math.max(...row);
    const s = row.reduce((a, b) => a + Math.exp(b - m), 0);
    loss[r] = m + Math.log(s) - row[t[r]];
    row.forEach((b, i) => {
      grad[r * v + i] = Math.exp(b - m) / s - (i === t[r] ? 1 : 0);
    });
  }
  return { loss, grad };
}

describe.each(testBackends())('crossEntropyRows on %s', (_, make) => {
  it.each([
    [1, 1],
    [3, 7],
    [13, 257],
    [2, 5000],
  ])('rows %i, V %i (some targets masked)', async (rows, v) => {
    const be = await make();
    const seed = freshSeed();
    const x = randF32(rows * v, seed, -4, 4);
    const r = rng(seed + 1);
    const t = Int32Array.from({ length: rows }, (_, i) => (i % 3 === 1 ? -100 : Math.floor(r() * v)));
    const { loss, dlogits, valid } = crossEntropyRows(Tensor.from(be, x, [rows, v]), Tensor.from(be, t, [rows], 'i32'));
    const want = oracle(x, t, v);
    // logsumexp of V terms: the Σexp bound relative to the sum, times the log's slope, plus |m| rounding
    const tol = workgroupReductionTol(v, 1) + 2 ** -18 * 8 + 1e-6;
    expectClose(await loss.data(), want.loss, tol, `seed ${seed} loss`);
    expectClose(await dlogits.data(), want.grad, tol, `seed ${seed} dlogits`);
    expect(Array.from(await valid.data())).toEqual(Array.from(t, (k) => (k >= 0 && k < v ? 1 : 0)));
  });

  it('rejects targets that are not the leading dims', async () => {
    const be = await make();
    expect(() => crossEntropyRows(Tensor.from(be, new Float32Array(6), [2, 3]), Tensor.from(be, [0, 1, 2], [3], 'i32'))).toThrow(ShapeError);
  });
});
