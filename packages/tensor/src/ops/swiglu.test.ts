import { DTypeError, ShapeError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { expectClose, freshSeed, randF32, testBackends } from '../test-utils/index.js';
import { swiglu } from './swiglu.js';

describe.each(testBackends())('swiglu on %s', (_name, make) => {
  it('matches float64 silu(gate)·up on awkward sizes', async () => {
    const b = await make();
    for (const n of [1, 127, 70_001]) {
      const seed = freshSeed();
      const g = randF32(n, seed, -20, 20);
      const u = randF32(n, seed + 1, -4, 4);
      const y = swiglu(Tensor.from(b, g, [n]), Tensor.from(b, u, [n]));
      const want = Array.from(g, (v, i) => (v / (1 + Math.exp(-v))) * u[i]);
      // exp within 2⁻¹⁸ relative (test-utils) dominates a division and a product
      expectClose(await y.data(), want, (i) => 2 ** -18 * Math.abs(want[i]) + 1e-38, `swiglu n=${n} seed=${seed}`);
    }
  });

  it('gives −0·up, not NaN, for very negative gates', async () => {
    const b = await make();
    const y = swiglu(Tensor.from(b, [-200, -1e30, 100], [3]), Tensor.from(b, [3, -2, 0.5], [3]));
    expectClose(await y.data(), [0, 0, 50], 1e-30, 'extremes');
  });

  it('rejects mismatched shapes and dtypes with typed errors', async () => {
    const b = await make();
    const g = Tensor.from(b, new Float32Array(6), [2, 3]);
    expect(() => swiglu(g, Tensor.from(b, new Float32Array(6), [3, 2]))).toThrow(ShapeError);
    expect(() => swiglu(g, Tensor.from(b, new Float32Array(6), [3, 2]))).toThrow(/gate \[2, 3\] and up \[3, 2\]/);
    expect(() => swiglu(g, Tensor.from(b, [1, 2, 3, 4, 5, 6], [2, 3], 'i32'))).toThrow(DTypeError);
  });
});
