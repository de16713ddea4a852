/** AdamW kernel against a float64 PyTorch-semantics oracle on every backend; grad norm; schedules. */
import { NumericError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Parameter } from '../autograd/parameter.js';
import { Tensor } from '../tensor.js';
import { expectClose, freshSeed, randF32, testBackends } from '../test-utils/index.js';
import { AdamW } from './adamw.js';
import { clipFactor, globalGradNorm } from './clip.js';
import { warmupConstant, warmupCosine } from './schedule.js';

/** torch.optim.AdamW, written out in float64. */
function oracle(p0: Float32Array, grads: Float32Array[], lr: number, wd: number, gscale: number) {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const p = Float64Array.from(p0);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] * gscale;
      p[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      p[i] -= (lr * m[i]) / (1 - b1 ** t) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
    }
  });
  return p;
}

describe.each(testBackends())('AdamW on %s', (_, make) => {
  it.each([1, 7, 257, 1000])('n = %i, three steps, both groups', async (n) => {
    const be = await make();
    const seed = freshSeed();
    for (const decay of [true, false]) {
      const p0 = randF32(n, seed);
      const grads = [1, 2, 3].map((k) => randF32(n, seed + k, -2, 2));
      const param = new Parameter('w', Tensor.from(be, p0, [n]), decay);
      const opt = new AdamW([param], { weightDecay: 0.1 });
      for (const g of grads) {
        param.grad = Tensor.from(be, g, [n]);
        opt.update(1e-2, 0.5);
        opt.zeroGrad();
      }
      const want = oracle(p0, grads, 1e-2, decay ? 0.1 : 0, 0.5);
      // each step moves p by ≤ lr·(1 + |p|·wd); f32 rounding of the update terms, a few ulps per step
      expectClose(await param.value.data(), want, 3 * 2 ** -23 * 4 + 1e-6, `seed ${seed} decay ${decay}`);
    }
  });

  it('global norm sums every gradient and names the first non-finite one', async () => {
    const be = await make();
    const a = new Parameter('a', Tensor.from(be, [3, 4], [2]));
    const b = new Parameter('b', Tensor.from(be, [1, 2, 3], [3]));
    a.grad = Tensor.from(be, [3, 4], [2]);
    b.grad = Tensor.from(be, [0, 0, 12], [3]);
    expect(await globalGradNorm([a, b])).toBeCloseTo(13, 5);
    b.grad.dispose();
    b.grad = Tensor.from(be, [0, Number.POSITIVE_INFINITY, 1], [3]);
    await expect(globalGradNorm([a, b])).rejects.toThrow(NumericError);
    await expect(globalGradNorm([a, b])).rejects.toThrow(/parameter 'b'/);
  });
});

describe('schedules and clipping', () => {
  it('warm-up is linear then constant; cosine ends at minLr', () => {
    const s = warmupConstant(1, 4);
    expect([0, 1, 3, 4, 100].map(s)).toEqual([0.25, 0.5, 1, 1, 1]);
    const c = warmupCosine(1, 2, 12, 0.1);
    expect(c(0)).toBe(0.5);
    expect(c(2)).toBeCloseTo(1, 12);
    expect(c(7)).toBeCloseTo(0.55, 12);
    expect(c(12)).toBeCloseTo(0.1, 12);
  });

  it('clip factor', () => {
    expect(clipFactor(0.5, 1)).toBe(1);
    expect(clipFactor(4, 1)).toBeCloseTo(0.25, 6);
    expect(clipFactor(4, undefined)).toBe(1);
  });
});
