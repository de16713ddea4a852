/** Fused cross-entropy rows against a float64 oracle on every backend, with masked rows. */
import { ShapeError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { expectClose, freshSeed, randF32, rng, testBackends, workgroupReductionTol } from '../test-utils/index.js';
import * as ag from '../autograd/index.js';
import { Parameter } from '../autograd/parameter.js';
import { backward } from '../autograd/tape.js';
import { crossEntropyDenom, crossEntropyRows } from './crossEntropy.js';

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

  it.each([
    [1, 1, [0]],
    [37, 133, null],
    [5, 9, [-100, 9, -1, -100, 12]],
    [0, 4, []],
  ])('rows %i, V %i: the mean divisor, and dlogits divided by it', async (rows, v, fixed) => {
    const be = await make();
    const seed = freshSeed();
    const x = randF32(rows * v, seed, -4, 4);
    const r = rng(seed + 1);
    // masked rows by the ignore index and by targets past either end
    const t = Int32Array.from(fixed ?? Array.from({ length: rows }, (_, i) => (i % 5 === 1 ? -100 : i % 7 === 3 ? v : Math.floor(r() * v))));
    const T = Tensor.from(be, t, [rows], 'i32');
    const denom = crossEntropyDenom(T, v);
    const count = Array.from(t).filter((k) => k >= 0 && k < v).length;
    expect(Array.from(await denom.data())).toEqual([Math.max(1, count)]);
    if (rows === 0) return;
    const { loss, dlogits } = crossEntropyRows(Tensor.from(be, x, [rows, v]), T, denom);
    const want = oracle(x, t, v);
    const tol = workgroupReductionTol(v, 1) + 2 ** -18 * 8 + 1e-6;
    expectClose(await loss.data(), want.loss, tol, `seed ${seed} loss`);
    expectClose(await dlogits.data(), want.grad.map((g) => g / Math.max(1, count)), tol, `seed ${seed} dlogits`);
  });

  it('as the loss: the seed 1 passes the mean gradient on, another seed scales it, both as an upstream tensor would', async () => {
    const be = await make();
    const [rows, v] = [23, 67];
    const seed = freshSeed();
    const x = randF32(rows * v, seed, -4, 4);
    const t = Int32Array.from({ length: rows }, (_, i) => (i % 4 === 2 ? -100 : (i * 17) % v));
    const T = Tensor.from(be, t, [rows], 'i32');
    const count = Array.from(t).filter((k) => k >= 0).length;
    const want = oracle(x, t, v);
    const gradOf = async (s: number, viaReshape: boolean) => {
      const p = new Parameter('x', Tensor.from(be, x, [rows, v]));
      const l = ag.crossEntropy(p.value, T);
      // through a reshape the loss's gradient arrives as a tensor, not as the known seed
      backward(viaReshape ? ag.reshape(l, [1]) : l, s);
      const g = await p.grad?.data();
      if (!g) throw new Error('no gradient');
      return g;
    };
    for (const s of [1, 0.25]) {
      const g = await gradOf(s, false);
      const tol = workgroupReductionTol(v, 1) + 2 ** -18 * 8 + 1e-6;
      expectClose(g, want.grad.map((w) => (s * w) / count), tol, `seed ${seed}, scale ${s}`);
      // the same floats as the general path (a power-of-two scale is exact either way)
      expect(Array.from(g)).toEqual(Array.from(await gradOf(s, true)));
    }
  });

  it('rejects targets that are not the leading dims', async () => {
    const be = await make();
    expect(() => crossEntropyRows(Tensor.from(be, new Float32Array(6), [2, 3]), Tensor.from(be, [0, 1, 2], [3], 'i32'))).toThrow(ShapeError);
  });
});
