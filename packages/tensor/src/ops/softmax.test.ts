import { DTypeError, ShapeError, threadsPerRow } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { EPS32, expectClose, freshSeed, randF32, testBackends, workgroupReductionTol } from '../test-utils/index.js';
import { softmax } from './softmax.js';

/** float64 softmax per row, with the max and Σ for the bound. */
function oracle(x: Float32Array, rows: number, n: number) {
  const want = new Float64Array(rows * n);
  const diff = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const row = Array.from(x.subarray(r * n, (r + 1) * n));
    const m = row.reduce((a, v) => Math.max(a, v), Number.NEGATIVE_INFINITY);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, i) => {
      want[r * n + i] = v / s;
      diff[r * n + i] = m - row[i];
    });
  }
  return { want, diff };
}

/**
 * Relative bound on y = e/S: x − max rounds by ε/2·|x − max| (an absolute error in the exponent),
 * exp is within 2⁻¹⁸ relative (test-utils), and S is a sum of n positive terms over threadsPerRow(n)
 * invocations. Plus an absolute 2⁻¹²⁶ (the smallest normal f32): WGSL lets a device flush subnormal
 * results to zero, so an expected value below it may come back as 0 (SwiftShader does; the floor
 * was 1e-38, which failed for an expected 1.15e-38 read back as 0).
 */
const tol = (want: number, diff: number, n: number) =>
  want * (2 * 2 ** -18 + EPS32 * diff + workgroupReductionTol(n, 1, threadsPerRow(n)) + EPS32) + 2 ** -126;

// [rows, n]: rows of length 1, primes, a very long row, many short rows
const CASES: [number, number][] = [
  [1, 1],
  [7, 1],
  [3, 7],
  [5, 257],
  [2, 50_000],
  [1001, 13],
  [66_000, 2],
  [97, 500],
  [4, 4099],
];

describe.each(testBackends())('softmax on %s', (_name, make) => {
  it('matches float64 over the last axis on awkward sizes', async () => {
    const b = await make();
    for (const [rows, n] of CASES) {
      const seed = freshSeed();
      const x = randF32(rows * n, seed, -12, 12);
      const t = Tensor.from(b, x, [rows, n]);
      const { want, diff } = oracle(x, rows, n);
      const got = await softmax(t).data();
      expectClose(got, want, (i) => tol(want[i], diff[i], n), `softmax ${rows}x${n} seed=${seed}`);
      t.dispose();
    }
  });

  it('is stable for large logits (exp(x) alone would overflow f32)', async () => {
    const b = await make();
    const seed = freshSeed();
    const x = randF32(3 * 61, seed, 80, 1000);
    const { want, diff } = oracle(x, 3, 61);
    const got = await softmax(Tensor.from(b, x, [3, 61])).data();
    expectClose(got, want, (i) => tol(want[i], diff[i], 61), `large logits seed=${seed}`);
  });

  it('keeps leading dims and reads views', async () => {
    const b = await make();
    const seed = freshSeed();
    const x = randF32(2 * 3 * 5, seed, -3, 3);
    const t = Tensor.from(b, x, [2, 5, 3]).transpose(); // [2, 3, 5], non-contiguous
    const c = t.contiguous();
    const y = softmax(t);
    expect(y.shape).toEqual([2, 3, 5]);
    const xc = (await c.data()) as Float32Array;
    const { want, diff } = oracle(xc, 6, 5);
    expectClose(await y.data(), want, (i) => tol(want[i], diff[i], 5), `view seed=${seed}`);
  });

  it('rejects bad dtypes and rank 0 with typed errors', async () => {
    const b = await make();
    expect(() => softmax(Tensor.from(b, [1, 2], [2], 'i32'))).toThrow(DTypeError);
    expect(() => softmax(Tensor.from(b, [1], []))).toThrow(ShapeError);
  });
});
