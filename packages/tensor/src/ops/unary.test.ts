import { UNARY_FNS, UNARY_OPS } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { expectClose, freshSeed, randF32, testBackends } from '../test-utils/index.js';
import { unary } from './unary.js';

const POSITIVE = new Set(['log', 'sqrt', 'rsqrt', 'recip']);

describe.each(testBackends())('unary on %s', (_name, make) => {
  it.each(UNARY_OPS)('%s matches float64 on awkward sizes', async (op) => {
    const b = await make();
    for (const n of [1, 127, 70_001]) {
      const seed = freshSeed();
      const x = POSITIVE.has(op) ? randF32(n, seed, 0.05, 8) : randF32(n, seed, -12, 12);
      const t = Tensor.from(b, x, [n]);
      const y = unary(op, t);
      const got = await y.data();
      const f = UNARY_FNS[op];
      const want = Array.from(x, (v) => f(v));
      // WGSL bounds log's error absolutely near 1 (2⁻²¹ on [0.5, 2]) and the rest relatively (ulps).
      const floor = op === 'log' ? 2 ** -21 : 1e-7;
      expectClose(got, want, (i) => 2 ** -18 * Math.abs(want[i]) + floor, `${op} n=${n} seed=${seed}`);
      t.dispose();
      y.dispose();
    }
  });

  it('rejects a non-f32 input with a typed error', async () => {
    const b = await make();
    const t = Tensor.from(b, [1, 2, 3], [3], 'i32');
    expect(() => unary('exp', t)).toThrow(/exp: got i32 tensor of shape \[3\]/);
  });
});
