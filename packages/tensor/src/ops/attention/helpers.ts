/** Helpers of the attention reference tests: float64 random data and central-difference gradients. */
import { expect } from 'vitest';
import { randF32, rng } from '../../test-utils/index.js';

/** n uniform float64 values in [lo, hi). */
export function randF64(n: number, r: () => number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export { rng };

/** Attention inputs q [nq] in [−2, 2) (scores of a few units), k [nk] in [−2, 2), v [nk] and dout [nq] in [−1, 1). */
export function attentionInputs(seed: number, nq: number, nk: number): Float32Array[] {
  return [randF32(nq, seed, -2, 2), randF32(nk, seed + 1, -2, 2), randF32(nk, seed + 2), randF32(nq, seed + 3)];
}

/**
 * Tolerance of an attention gradient: a sum over ≤ `terms` (row, key) pairs of products whose f32
 * error is dominated by p = exp(s − lse) (|s| ≤ 4D: a few ε·4D relative) and the f32 lse/delta:
 * 64·ε·(4D + terms) relative to the tensor's largest gradient (elementwise bounds mean nothing where
 * terms cancel).
 */
export function gradTol(want: ArrayLike<number>, d: number, terms: number): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(want[i]));
  return 64 * 2 ** -23 * (4 * d + terms) * (m + 1e-3);
}

/**
 * Tolerance of an f32 attention output against float64: outputs are convex combinations of v rows
 * (|v| ≤ 1) with weights from an f32 softmax over K keys; scores are D-term dots of values ≤ 2 in
 * magnitude: |Δ| ≤ a few ε·(D·|q||k| + K), taken as 64·ε·(D·4 + K) absolute.
 */
export const attnTol = (d: number, keys: number): number => 64 * 2 ** -23 * (d * 4 + keys);

/**
 * Checks `analytic` = ∂L/∂x for L = loss() by central differences in float64 (x is perturbed in
 * place). Error bound: |Δ| ≤ 1e-6·(1 + |g|) (step 1e-5, truncation O(h²) ≈ 1e-10, rounding ≈ 1e-11).
 */
export function expectGradient(label: string, x: Float64Array, analytic: ArrayLike<number>, loss: () => number): void {
  const h = 1e-5;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + h;
    const lp = loss();
    x[i] = x0 - h;
    const lm = loss();
    x[i] = x0;
    const num = (lp - lm) / (2 * h);
    const err = Math.abs(num - analytic[i]) / (1 + Math.abs(num));
    if (err > worst) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${label}: worst relative error at element ${at}`).toBeLessThan(1e-6);
}

/** Σ a·b. */
export function dotAll(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
