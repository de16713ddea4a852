import { ArgumentError, DTypeError, ShapeError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { numel, type Shape, Tensor } from '../tensor.js';
import { expectClose, freshSeed, randF32, rng, testBackends } from '../test-utils/index.js';
import { rope } from './rope.js';

const f = Math.fround;

/**
 * float64 oracle of the PyTorch fp32 semantic: inv_freq and the angle rounded to fp32 where PyTorch
 * rounds them, cos/sin and the rotation in float64. `exact` uses the real angle pos·θ^(−2i/D).
 */
function oracle(x: Float32Array, shape: Shape, pos: (b: number, t: number) => number, theta: number, exact = false) {
  const [t, h, d] = shape.slice(-3);
  const batch = numel(shape.slice(0, -3));
  const half = d / 2;
  const inv = Array.from({ length: half }, (_, i) => (exact ? theta ** ((-2 * i) / d) : f(1 / f(f(theta) ** f((2 * i) / d)))));
  const y = new Float64Array(x.length);
  for (let b = 0; b < batch; b++) {
    for (let tt = 0; tt < t; tt++) {
      for (let hh = 0; hh < h; hh++) {
        const base = ((b * t + tt) * h + hh) * d;
        for (let i = 0; i < half; i++) {
          const a = exact ? pos(b, tt) * inv[i] : f(f(pos(b, tt)) * inv[i]);
          y[base + i] = x[base + i] * Math.cos(a) - x[base + i + half] * Math.sin(a);
          y[base + i + half] = x[base + i + half] * Math.cos(a) + x[base + i] * Math.sin(a);
        }
      }
    }
  }
  return y;
}

/**
 * Absolute bound (|x₁| + |x₂|)·2⁻²⁰ per output. The fp32 angle is formed exactly as in the oracle, so
 * what remains is sin/cos of that angle — the shader's range reduction is within a few ulps of π/4
 * (≈ 2⁻²²) and the polynomial ≈ 1 ulp — plus two f32 products and a sum; 2⁻²⁰ leaves a 2× margin.
 * (An exact-angle or WGSL-sin implementation misses it by 10⁴× at positions ≈ 1e6.)
 */
function tol(x: Float32Array, d: number) {
  const half = d / 2;
  return (k: number) => {
    const i = k % d;
    const pair = i < half ? k + half : k - half;
    return (Math.abs(x[k]) + Math.abs(x[pair])) * 2 ** -20 + 1e-38;
  };
}

// [x shape, position offset, theta]: D = 2, odd D/2, rank 3, positions near 1e6
const CASES: [Shape, number, number][] = [
  [[1, 1, 1, 2], 0, 10_000],
  [[3, 5, 2, 6], 7, 10_000],
  [[2, 7, 3, 64], 999_983, 10_000],
  [[13, 4, 128], 1_000_000 - 13, 500_000],
  [[1, 61, 1, 128], 0, 1_000_000],
];

describe.each(testBackends())('rope on %s', (_name, make) => {
  it('matches the fp32-angle semantic with a position offset', async () => {
    const b = await make();
    for (const [shape, offset, theta] of CASES) {
      const seed = freshSeed();
      const x = randF32(numel(shape), seed, -2, 2);
      const y = rope(Tensor.from(b, x, shape), { positionOffset: offset, theta });
      const want = oracle(x, shape, (_b, t) => offset + t, theta);
      expectClose(await y.data(), want, tol(x, shape[shape.length - 1]), `rope ${shape} +${offset} seed=${seed}`);
    }
  });

  it('reads positions from an i32 tensor, [T] or [B, T], up to ~1.2e6', async () => {
    const b = await make();
    const shape = [2, 9, 3, 16];
    for (const perBatch of [false, true]) {
      const seed = freshSeed();
      const r = rng(seed);
      const pos = Int32Array.from({ length: perBatch ? 18 : 9 }, () => Math.floor(r() * 1.2e6));
      const x = randF32(numel(shape), seed, -2, 2);
      const tp = Tensor.from(b, pos, perBatch ? [2, 9] : [9], 'i32');
      const y = rope(Tensor.from(b, x, shape), { positions: tp });
      const want = oracle(x, shape, (bb, t) => pos[perBatch ? bb * 9 + t : t], 10_000);
      expectClose(await y.data(), want, tol(x, 16), `rope positions perBatch=${perBatch} seed=${seed}`);
    }
  });

  it('follows PyTorch fp32 angles, not exact ones (they differ at pos ≈ 1e6)', async () => {
    const b = await make();
    const shape = [1, 3, 1, 64];
    const x = randF32(numel(shape), freshSeed(), 0.5, 1);
    const got = await rope(Tensor.from(b, x, shape), { positionOffset: 1_000_003 }).data();
    const exact = oracle(x, shape, (_b, t) => 1_000_003 + t, 10_000, true);
    const worst = Math.max(...Array.from(got, (v, i) => Math.abs(v - exact[i])));
    expect(worst).toBeGreaterThan(1e-3);
  });

  it('rejects bad shapes, dtypes and arguments with typed errors', async () => {
    const b = await make();
    const x = Tensor.from(b, new Float32Array(2 * 3 * 4), [2, 3, 4]);
    expect(() => rope(Tensor.from(b, new Float32Array(6), [1, 2, 3]))).toThrow(ShapeError);
    expect(() => rope(Tensor.from(b, new Float32Array(4), [2, 2]))).toThrow(/\[\.\.\., T, H, D\] with D even/);
    expect(() => rope(x, { positions: Tensor.from(b, [0, 1, 2], [3], 'i32') })).toThrow(ShapeError);
    expect(() => rope(x, { positions: Tensor.from(b, [0, 1], [2]) })).toThrow(DTypeError);
    expect(() => rope(x, { positionOffset: 0.5 })).toThrow(ArgumentError);
    expect(() => rope(x, { theta: 0 })).toThrow(ArgumentError);
  });
});
