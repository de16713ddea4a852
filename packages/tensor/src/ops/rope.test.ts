import { ArgumentError, DTypeError, ROPE_ANGLE_BOUND, ropeAngle, ropeFreqs, ShapeError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { numel, type Shape, Tensor } from '../tensor.js';
import { expectClose, freshSeed, randF32, rng, testBackends } from '../test-utils/index.js';
import { rope } from './rope.js';

const f = Math.fround;

/**
 * Angle semantics an oracle can use: 'ref' the f32 angle of rope.ref.ts (PyTorch's fp32(p·f_i) for
 * |p| < 4096, the mod-2π split beyond); 'exact' the real p·f_i with f_i the fp32 inv_freq (exact in
 * float64 for |p| < 2²⁹); 'pytorch' fp32(fp32(p)·f_i) at every position (v1).
 */
type Angles = 'ref' | 'exact' | 'pytorch';

/** float64 rotation of x [..., T, H, D] by the chosen angles; pos(b, t) gives the positions. */
function oracle(x: Float32Array, shape: Shape, pos: (b: number, t: number) => number, theta: number, angles: Angles = 'ref') {
  const [t, h, d] = shape.slice(-3);
  const batch = numel(shape.slice(0, -3));
  const half = d / 2;
  const fr = ropeFreqs(d, theta);
  const angle = (p: number, i: number) =>
    angles === 'ref' ? ropeAngle(p, fr[i], fr[half + i], fr[2 * half + i]) : angles === 'exact' ? p * fr[i] : f(f(p) * fr[i]);
  const y = new Float64Array(x.length);
  for (let b = 0; b < batch; b++) {
    for (let tt = 0; tt < t; tt++) {
      for (let i = 0; i < half; i++) {
        const a = angle(pos(b, tt), i);
        for (let hh = 0; hh < h; hh++) {
          const base = ((b * t + tt) * h + hh) * d;
          y[base + i] = x[base + i] * Math.cos(a) - x[base + i + half] * Math.sin(a);
          y[base + i + half] = x[base + i + half] * Math.cos(a) + x[base + i] * Math.sin(a);
        }
      }
    }
  }
  return y;
}


/**
 * Absolute bound (|x₁| + |x₂|)·(2⁻²⁰ + δ(p)) per output, δ(p) an allowance on the angle. With the
 * oracle's own angle, sin/cos is what remains — the shader's range reduction is within a few ulps of
 * π/4 (≈ 2⁻²²) and the polynomial ≈ 1 ulp — plus two f32 products and a sum; 2⁻²⁰ leaves a 2× margin.
 * δ = 0 for |p| < 4096 (one f32 product, as in the reference). Past it δ = 2⁻¹²: WGSL lets a compiler
 * contract a product and the subtraction after it into an fma, skipping the rounding of l·f (≤ 2⁻¹³)
 * or of h₀·K0, h₁·K1 (≤ 2⁻¹⁴ each) that the reference does.
 */
function tol(x: Float32Array, shape: Shape, pos: (b: number, t: number) => number, delta = (p: number) => (Math.abs(p) < 4096 ? 0 : 2 ** -12)) {
  const [t, h, d] = shape.slice(-3);
  const half = d / 2;
  return (k: number) => {
    const i = k % d;
    const row = Math.floor(k / (h * d));
    const pair = i < half ? k + half : k - half;
    return (Math.abs(x[k]) + Math.abs(x[pair])) * (2 ** -20 + delta(pos(Math.floor(row / t), row % t))) + 1e-38;
  };
}

/**
 * [x shape, position offset, theta]: D = 2, odd D/2, rank 3, positions near 1e6, across 4096, past
 * 16M (T = 300 with D/2 = 3: 900 pairs, not a multiple of 256; a single token), negative, near 2³⁰.
 */
function cases(r: () => number): [Shape, number, number][] {
  const near16M = () => 16_777_000 + Math.floor(r() * 1000);
  return [
    [[1, 1, 1, 2], 0, 10_000],
    [[3, 5, 2, 6], 7, 10_000],
    [[2, 7, 3, 64], 999_983, 10_000],
    [[13, 4, 128], 1_000_000 - 13, 500_000],
    [[1, 61, 1, 128], 0, 1_000_000],
    [[1, 11, 1, 8], 4090, 10_000],
    [[1, 300, 1, 6], near16M(), 10_000],
    [[1, 1, 1, 128], near16M(), 10_000],
    [[2, 5, 3, 10], -near16M(), 500_000],
    [[1, 3, 2, 34], 2 ** 30 - 3, 10_000],
  ];
}

/** Random i32 positions, half of them negative: small, near 16M and up to 2³⁰. */
function randPositions(r: () => number, n: number): Int32Array {
  const mags = [() => r() * 4096, () => 16_000_000 + r() * 1_000_000, () => r() * 2 ** 30];
  return Int32Array.from({ length: n }, (_, k) => (r() < 0.5 ? -1 : 1) * Math.floor(mags[k % 3]()));
}

describe.each(testBackends())('rope on %s', (_name, make) => {
  it('matches the reference angles with a position offset, small to 2^30 and negative', async () => {
    const b = await make();
    const seed = freshSeed();
    for (const [shape, offset, theta] of cases(rng(seed))) {
      const x = randF32(numel(shape), seed, -2, 2);
      const y = rope(Tensor.from(b, x, shape), { positionOffset: offset, theta });
      const pos = (_b: number, t: number) => offset + t;
      expectClose(await y.data(), oracle(x, shape, pos, theta), tol(x, shape, pos), `rope ${shape} +${offset} seed=${seed}`);
    }
  });

  it('reads positions from an i32 tensor, [T] or [B, T], small, large and negative', async () => {
    const b = await make();
    const shape = [2, 9, 3, 16];
    for (const perBatch of [false, true]) {
      const seed = freshSeed();
      const r = rng(seed);
      const positions = randPositions(r, perBatch ? 18 : 9);
      const x = randF32(numel(shape), seed, -2, 2);
      const tp = Tensor.from(b, positions, perBatch ? [2, 9] : [9], 'i32');
      const y = rope(Tensor.from(b, x, shape), { positions: tp });
      const pos = (bb: number, t: number) => positions[perBatch ? bb * 9 + t : t];
      expectClose(await y.data(), oracle(x, shape, pos, 10_000), tol(x, shape, pos), `rope positions perBatch=${perBatch} seed=${seed}`);
    }
  });

  it("follows the exact angles at 16M (within 3.7e-4 rad), where PyTorch's fp32 product is up to 0.5 rad off", async () => {
    const b = await make();
    const shape = [1, 5, 1, 64];
    const seed = freshSeed();
    const offset = 16_000_000 + Math.floor(rng(seed)() * 700_000);
    const x = randF32(numel(shape), seed, 0.5, 1);
    const got = await rope(Tensor.from(b, x, shape), { positionOffset: offset }).data();
    const pos = (_b: number, t: number) => offset + t;
    expectClose(got, oracle(x, shape, pos, 10_000, 'exact'), tol(x, shape, pos, () => ROPE_ANGLE_BOUND), `rope exact +${offset} seed=${seed}`);
    const pytorch = oracle(x, shape, pos, 10_000, 'pytorch');
    const worst = Math.max(...Array.from(got, (v, i) => Math.abs(v - pytorch[i])));
    expect(worst, `seed=${seed}`).toBeGreaterThan(1e-2);
  });

  it('undoes itself at the negated positions (the autograd backward), large ones included', async () => {
    const b = await make();
    const shape = [3, 7, 2, 12];
    const seed = freshSeed();
    const positions = randPositions(rng(seed), 21);
    const x = randF32(numel(shape), seed, -2, 2);
    const p = Tensor.from(b, positions, [3, 7], 'i32');
    const n = Tensor.from(b, positions.map((v) => -v), [3, 7], 'i32');
    const y = rope(Tensor.from(b, x, shape), { positions: p });
    const z = await rope(y, { positions: n }).data();
    // angle(−p) = −angle(p) exactly, so only the two rotations' errors remain: 2⁻²⁰ (|x₁| + |x₂|)
    // for the first, up to √2 times that for the second (|y₁| + |y₂| ≤ √2 (|x₁| + |x₂|))
    expectClose(z, x, tol(x, shape, () => 0, () => 2 ** -19), `rope(rope(x, p), −p) seed=${seed}`);
    // `negate` is the same rotation by −p, tensor positions (the ones above) and offsets alike
    expect(Array.from(await rope(y, { positions: p, negate: true }).data())).toEqual(Array.from(z));
    const off = 2 ** 30 - 100;
    const w = rope(Tensor.from(b, x, shape), { positionOffset: off });
    const back = await rope(w, { positionOffset: off, negate: true }).data();
    expectClose(back, x, tol(x, shape, () => 0, () => 2 ** -19), `rope(rope(x, +${off}), negate) seed=${seed}`);
    const wNeg = await rope(Tensor.from(b, x, shape), { positionOffset: 5, negate: true }).data();
    const negPos = (_b: number, t: number) => -(5 + t);
    expectClose(wNeg, oracle(x, shape, negPos, 10_000), tol(x, shape, negPos), `rope negate +5 seed=${seed}`);
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
