import { ArgumentError, DTypeError, packHalf, ShapeError, threadsPerRow, unpackHalf } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { EPS32, expectClose, freshSeed, randF32, testBackends, workgroupReductionTol } from '../test-utils/index.js';
import { rmsNorm } from './rmsnorm.js';

/** float64 RMSNorm per row of x [rows, n] with weight values w (already rounded to their dtype). */
function oracle(x: Float32Array, w: ArrayLike<number>, rows: number, n: number, eps: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[r * n + i] ** 2;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) y[r * n + i] = w[i] * x[r * n + i] * inv;
  }
  return y;
}

/**
 * Relative bound: Σx² is a sum of n positive terms over threadsPerRow(n) invocations (relative error
 * workgroupReductionTol), halved by the square root; 1/sqrt, the division by n and the two products
 * add a few ulps (2⁻²⁰).
 */
const tol = (want: number, n: number) => Math.abs(want) * (workgroupReductionTol(n, 1, threadsPerRow(n)) / 2 + 2 ** -20 + 4 * EPS32) + 1e-38;

const CASES: [number, number][] = [
  [1, 1],
  [3, 7],
  [5, 257],
  [2, 50_000],
  [1001, 13],
  [66_000, 2],
  [97, 500],
];

describe.each(testBackends())('rmsNorm on %s', (_name, make) => {
  it.each(['f32', 'bf16', 'f16'] as const)('matches float64 with a %s weight', async (wDtype) => {
    const b = await make();
    for (const [rows, n] of CASES) {
      const seed = freshSeed();
      const x = randF32(rows * n, seed, -3, 3);
      const w = randF32(n, seed + 1, -2, 2);
      const wVals = wDtype === 'f32' ? w : unpackHalf(packHalf(w, wDtype), wDtype, n);
      const tx = Tensor.from(b, x, [rows, n]);
      const tw = Tensor.from(b, w, [n], wDtype);
      const want = oracle(x, wVals, rows, n, 1e-5);
      const got = await rmsNorm(tx, tw, 1e-5).data();
      expectClose(got, want, (i) => tol(want[i], n), `rmsNorm ${rows}x${n} w=${wDtype} seed=${seed}`);
      tx.dispose();
      tw.dispose();
    }
  });

  it('per-head norm is rmsNorm on [..., H, Dh]', async () => {
    const b = await make();
    const [t, h, dh] = [5, 3, 31];
    const seed = freshSeed();
    const x = randF32(t * h * dh, seed, -2, 2);
    const w = randF32(dh, seed + 1, 0.5, 1.5);
    const y = rmsNorm(Tensor.from(b, x, [t, h * dh]).reshape([t, h, dh]), Tensor.from(b, w, [dh])).reshape([t, h * dh]);
    expect(y.shape).toEqual([t, h * dh]);
    const want = oracle(x, w, t * h, dh, 1e-6);
    expectClose(await y.data(), want, (i) => tol(want[i], dh), `per-head seed=${seed}`);
  });

  it('eps keeps an all-zero row finite', async () => {
    const b = await make();
    const y = rmsNorm(Tensor.from(b, [0, 0, 0], [1, 3]), Tensor.from(b, [1, 2, 3], [3]), 1e-6);
    expectClose(await y.data(), [0, 0, 0], 0, 'zero row');
  });

  it('rejects bad shapes, dtypes and eps with typed errors', async () => {
    const b = await make();
    const x = Tensor.from(b, new Float32Array(6), [2, 3]);
    expect(() => rmsNorm(x, Tensor.from(b, [1, 1], [2]))).toThrow(ShapeError);
    expect(() => rmsNorm(x, Tensor.from(b, [1, 1], [2]))).toThrow(/weight \[2\] must be \[D\] with D the last dim of x \[2, 3\]/);
    expect(() => rmsNorm(x, Tensor.from(b, [1, 1, 1], [3], 'i32'))).toThrow(DTypeError);
    expect(() => rmsNorm(Tensor.from(b, [1, 2, 3], [3], 'bf16'), Tensor.from(b, [1, 1, 1], [3]))).toThrow(DTypeError);
    expect(() => rmsNorm(x, Tensor.from(b, [1, 1, 1], [3]), -1)).toThrow(ArgumentError);
  });
});
