/**
 * Shared test helpers: the backends every op test runs on, seeded random data, float64 oracles and
 * the one tolerance rule.
 *
 * Tolerance: an f32 result computed from a reduction of K terms may differ from the float64 value by
 * |Δ| ≤ c·ε·K·Σ|terms| with ε = 2⁻²³ (the classical bound for recursive summation), plus an absolute
 * floor for values near 0. Elementwise transcendental functions get a relative bound of a few ulps
 * (WGSL's exp/log/tanh are specified to within 3 ulp plus range-dependent error; we use 2⁻¹⁸ relative).
 */
import { expect } from 'vitest';
import type { Backend } from '../backend.js';
import { CpuBackend } from '../cpu/cpu-backend.js';
import { WebGpuBackend } from '../webgpu/webgpu-backend.js';

/** The float64 oracle backend (finite-difference gradient checks outside this package). */
export { Float64Backend, fromF64, readF64 } from './f64-backend.js';
export { type GradCase, gradientSuites } from './gradcheck-suite.js';

export const EPS32 = 2 ** -23;

let gpu: Promise<WebGpuBackend> | null = null;

/** The shared WebGPU backend of this test process (poisoned allocations). */
export function webgpuBackend(): Promise<WebGpuBackend> {
  gpu ??= WebGpuBackend.create({ poison: true });
  return gpu;
}

/**
 * The backends every op test runs on. WebGPU is required: a missing adapter fails the test
 * (never a silent skip) unless HSA_SKIP_WEBGPU=1 is set explicitly.
 */
export function testBackends(): [string, () => Promise<Backend>][] {
  const list: [string, () => Promise<Backend>][] = [['cpu', async () => new CpuBackend({ poison: true })]];
  if (process.env.HSA_SKIP_WEBGPU !== '1') list.push(['webgpu', webgpuBackend]);
  return list;
}

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A fresh seed per call (logged on failure through the test name), so runs see new inputs. */
export function freshSeed(): number {
  return (Math.random() * 2 ** 31) >>> 0;
}

/** n uniform values in [lo, hi), rounded to f32 so the float64 oracle sees exactly the GPU's inputs. */
export function randF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

export function toF64(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x as ArrayLike<number>);
}

/** Bound for a reduction of K terms whose absolute values sum to `sumAbs`. */
export function reductionTol(k: number, sumAbs: number, c = 2): number {
  return c * EPS32 * Math.max(k, 1) * sumAbs + 1e-30;
}

/**
 * Asserts |actual − expected| ≤ tol(i) elementwise, and that nothing is NaN unless expected is
 * (catching poisoned, unwritten outputs). Reports the worst element.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number | ((i: number) => number),
  label = '',
): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const t = typeof tol === 'number' ? tol : tol(i);
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    const ratio = Number.isNaN(a) || Number.isNaN(e) ? Number.POSITIVE_INFINITY : Math.abs(a - e) / t;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = i;
    }
  }
  if (worstRatio > 1) {
    const t = typeof tol === 'number' ? tol : tol(worst);
    expect.fail(
      `${label} element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (tolerance ${t.toExponential(2)})`,
    );
  }
}

/** Awkward sizes for shape sweeps: 1, primes, non-multiples of tiles. */
export const AWKWARD = [1, 3, 7, 13, 31, 61, 97, 127, 257] as const;

/**
 * Bound for a K-term sum done as one workgroup does it: each of `wg` invocations adds ⌈K/wg⌉ terms
 * in order, then log2(wg) tree levels combine the partials, so the recursive-summation bound applies
 * with depth ⌈K/wg⌉ + log2(wg) instead of K: |Δ| ≤ c·ε·(⌈K/wg⌉ + log2 wg)·Σ|terms|. Also bounds the
 * CPU backend, whose sequential float64 sum is far tighter.
 */
export function workgroupReductionTol(k: number, sumAbs: number, wg = 256, c = 2): number {
  return c * EPS32 * (Math.ceil(Math.max(k, 1) / wg) + Math.log2(wg)) * sumAbs + 1e-30;
}
