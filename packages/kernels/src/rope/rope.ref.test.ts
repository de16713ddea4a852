/**
 * ropeAngle / ropeRef (v2: terms reduced mod 2π past 4096) against
 * - the exact angle p·f_i mod 2π (f_i the fp32 inv_freq), in BigInt fixed point: within the analytic
 *   bound ROPE_ANGLE_BOUND = 2⁻¹³ + 2⁻¹² + 2e-6 ≈ 3.7e-4 rad for |p| ≤ 2³⁰ (see rope.ref.ts; measured max
 *   2.4e-4 over 10⁶ random (p, i)), where v1's fp32(fp32(p)·f) is 0.5 rad off just below 2²⁴ (16M);
 * - v1, PyTorch's fp32 product, kept here as the oracle: every output bit equal for |p| < 4096;
 * - the translation property attention relies on: q·k after rotation depends on p − p' only (to
 *   9.8e-4·|q||k| at 16M; v1 misses that by 3× and more there).
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 as rng } from '../test-utils/rng.js';
import { ROPE_ANGLE_BOUND, ropeAngle, ropeFreqs, ropeInvFreq, ropeRef } from './rope.ref.js';

/** a fresh seed a test; it goes into every assertion message */
const freshSeed = () => (Math.random() * 2 ** 31) >>> 0;
const randInt = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

// 2π in fixed point with 256 fraction bits, from 100 digits of π
const PI_DIGITS = '3141592653589793238462643383279502884197169399375105820974944592307816406286208998628034825342117068';
const FRAC = 256n;
const TWO_PI_FIX = ((2n * BigInt(PI_DIGITS)) << FRAC) / 10n ** BigInt(PI_DIGITS.length - 1);
const f32Bits = new DataView(new ArrayBuffer(4));

/** p·f mod 2π in (−π, π] for an integer p and a normal f32 f = m·2^e, exact to ~2⁻²²⁰. */
function exactAngle(p: number, f: number): number {
  f32Bits.setFloat32(0, f);
  const bits = f32Bits.getUint32(0);
  const m = BigInt((bits & 0x7fffff) | 0x800000);
  const e = BigInt(((bits >>> 23) & 255) - 150);
  let r = ((BigInt(p) * m) << (FRAC + e)) % TWO_PI_FIX;
  if (2n * r > TWO_PI_FIX) r -= TWO_PI_FIX;
  else if (2n * r <= -TWO_PI_FIX) r += TWO_PI_FIX;
  return Number(r) / 2 ** Number(FRAC);
}

/** |a − b| modulo 2π. */
const angleDiff = (a: number, b: number) => Math.abs(a - b - 2 * Math.PI * Math.round((a - b) / (2 * Math.PI)));

/** v1: the angle fp32(fp32(pos)·inv_freq), as PyTorch; arrays x, invFreq [D/2], (positions), out. */
function ropeV1(arrays: (Float32Array | Float64Array | Int32Array)[], p: Parameters<typeof ropeRef>[1]): void {
  const [x, invFreq] = arrays;
  const pos = p.posMode === 'tensor' ? arrays[2] : null;
  const out = arrays[arrays.length - 1];
  const half = p.d / 2;
  for (let b = 0; b < p.batch; b++) {
    for (let t = 0; t < p.t; t++) {
      const position = Math.fround(pos ? pos[b * p.posBatchStride + t] : p.offset + t);
      for (let hh = 0; hh < p.h; hh++) {
        const base = ((b * p.t + t) * p.h + hh) * p.d;
        for (let i = 0; i < half; i++) {
          const a = Math.fround(position * invFreq[i]);
          const [c, s] = [Math.cos(a), Math.sin(a)];
          out[base + i] = x[base + i] * c - x[base + i + half] * s;
          out[base + i + half] = x[base + i + half] * c + x[base + i] * s;
        }
      }
    }
  }
}

/** The first index where a and b differ in value or sign of zero (NaN never occurs here), or −1. */
const firstMismatch = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.prototype.findIndex.call(a, (v: number, i: number) => !Object.is(v, b[i]));

/** Positions that exercise every field of l + 4096·h₀ + 2²¹·h₁ and both signs. */
function positions(r: () => number, n: number): number[] {
  const edges = [1, 4095, 4096, 4097, 8191, 2 ** 21 - 1, 2 ** 21, 2 ** 24 - 1, 2 ** 24 + 1, 2 ** 30 - 1, 2 ** 30];
  const out = [...edges, ...edges.map((p) => -p)];
  while (out.length < n) {
    const mag = 2 ** (12 + 18 * r());
    out.push(Math.round((r() < 0.5 ? -1 : 1) * mag));
  }
  return out;
}

// [D, θ]: the smallest D, an odd D/2, Llama-like heads
const DIMS: [number, number][] = [
  [2, 10_000],
  [6, 10_000],
  [128, 10_000],
  [96, 500_000],
  [64, 1_000_000],
];

describe('ropeAngle', () => {
  it('is within 3.7e-4 rad of the exact p·f mod 2π for random |p| ≤ 2^30, negative ones included', () => {
    const seed = freshSeed();
    const r = rng(seed);
    let worst = 0;
    for (const [d, theta] of DIMS) {
      const half = d / 2;
      const fr = ropeFreqs(d, theta);
      for (const p of positions(r, 1500)) {
        const i = randInt(r, 0, half - 1);
        const a = ropeAngle(p, fr[i], fr[half + i], fr[2 * half + i]);
        worst = Math.max(worst, angleDiff(a, exactAngle(p, fr[i])));
        if (Math.abs(p) >= 4096) expect(Math.abs(a), `|angle| p=${p} i=${i} seed=${seed}`).toBeLessThan(3 * Math.PI + 0.01);
        expect(ropeAngle(-p, fr[i], fr[half + i], fr[2 * half + i]), `odd p=${p} i=${i} seed=${seed}`).toBe(-a);
      }
    }
    expect(worst, `seed=${seed}`).toBeLessThanOrEqual(ROPE_ANGLE_BOUND);
  });

  it("documents why: v1's fp32 product is > 0.1 rad off just below 2^24 (16M), v2 is not", () => {
    const seed = freshSeed();
    const r = rng(seed);
    const fr = ropeFreqs(128, 10_000);
    let worstV1 = 0;
    let worstV2 = 0;
    for (let s = 0; s < 400; s++) {
      const p = randInt(r, 16_000_000, 2 ** 24 - 1);
      const i = s % 4;
      const exact = exactAngle(p, fr[i]);
      worstV1 = Math.max(worstV1, angleDiff(Math.fround(Math.fround(p) * fr[i]), exact));
      worstV2 = Math.max(worstV2, angleDiff(ropeAngle(p, fr[i], fr[64 + i], fr[128 + i]), exact));
    }
    expect(worstV1, `seed=${seed}`).toBeGreaterThan(0.1);
    expect(worstV2, `seed=${seed}`).toBeLessThanOrEqual(ROPE_ANGLE_BOUND);
  });

  it('builds ropeFreqs from ropeInvFreq: row 0 is inv_freq, rows 1 and 2 are 4096·f and 2^21·f mod 2π', () => {
    for (const [d, theta] of DIMS) {
      const half = d / 2;
      const fr = ropeFreqs(d, theta);
      expect(fr.subarray(0, half)).toEqual(ropeInvFreq(d, theta));
      for (let i = 0; i < half; i++) {
        expect(angleDiff(fr[half + i], exactAngle(4096, fr[i]))).toBeLessThanOrEqual(2 ** -23);
        expect(angleDiff(fr[2 * half + i], exactAngle(2 ** 21, fr[i]))).toBeLessThanOrEqual(2 ** -23);
      }
    }
  });
});

describe('ropeRef', () => {
  it('equals v1 (PyTorch fp32 angles) bit for bit for |p| < 4096, offset and tensor modes', () => {
    for (const [d, theta] of DIMS) {
      const seed = freshSeed();
      const r = rng(seed);
      const fr = ropeFreqs(d, theta);
      const inv = ropeInvFreq(d, theta);
      // offset mode: every position 0 … 4095 once, H = 1
      const base = { batch: 1, h: 1, d, posBatchStride: 0 };
      const x = Float32Array.from({ length: 4096 * d }, () => r() * 4 - 2);
      const [got, want] = [new Float32Array(x.length), new Float32Array(x.length)];
      ropeRef([x, fr, got], { ...base, t: 4096, posMode: 'offset', offset: 0 });
      ropeV1([x, inv, want], { ...base, t: 4096, posMode: 'offset', offset: 0 });
      expect(firstMismatch(got, want), `offset d=${d} seed=${seed}`).toBe(-1);
      // tensor mode, [B, T] with negative positions, float64 arrays
      const [b, t, h] = [3, 37, 2];
      const pos = Int32Array.from({ length: b * t }, () => randInt(r, -4095, 4095));
      const x64 = Float64Array.from({ length: b * t * h * d }, () => r() * 4 - 2);
      const [got64, want64] = [new Float64Array(x64.length), new Float64Array(x64.length)];
      const p = { batch: b, t, h, d, posMode: 'tensor' as const, offset: 0, posBatchStride: t };
      ropeRef([x64, fr, pos, got64], p);
      ropeV1([x64, inv, pos, want64], p);
      expect(firstMismatch(got64, want64), `tensor d=${d} seed=${seed}`).toBe(-1);
    }
  });

  it('keeps q·k a function of the distance at p ≈ 16M (v1 does not)', () => {
    const seed = freshSeed();
    const r = rng(seed);
    const [d, theta] = [128, 10_000];
    const fr = ropeFreqs(d, theta);
    const inv = ropeInvFreq(d, theta);
    const one = { batch: 1, t: 1, h: 1, d, posMode: 'offset' as const, posBatchStride: 0 };
    const rot = (ref: typeof ropeRef, table: Float32Array, v: Float64Array, offset: number) => {
      const out = new Float64Array(d);
      ref([v, table, out], { ...one, offset });
      return out;
    };
    const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
    // far angles within ROPE_ANGLE_BOUND of exact, near ones (< 4096) within 2⁻¹³: |Δ(q·k)| ≤ bound·|q||k|
    const bound = 2 * ROPE_ANGLE_BOUND + 2 ** -12;
    let worstV1 = 0;
    for (let trial = 0; trial < 8; trial++) {
      const q = Float64Array.from({ length: d }, () => r() * 2 - 1);
      const k = Float64Array.from({ length: d }, () => r() * 2 - 1);
      const dist = randInt(r, 1, 4000);
      const near = randInt(r, dist, 4095);
      const far = (trial % 2 ? 2 ** 24 : 16_000_000) + randInt(r, 0, 700_000);
      const scale = Math.sqrt(dot(q, q) * dot(k, k));
      const score = (ref: typeof ropeRef, table: Float32Array, p: number) => dot(rot(ref, table, q, p), rot(ref, table, k, p - dist));
      const v2 = Math.abs(score(ropeRef, fr, far) - score(ropeRef, fr, near)) / scale;
      expect(v2, `p=${far} dist=${dist} seed=${seed}`).toBeLessThanOrEqual(bound);
      worstV1 = Math.max(worstV1, Math.abs(score(ropeV1, inv, far) - score(ropeV1, inv, near)) / scale);
    }
    // v1's worst of 8 trials: median 3e-2, 6e-3 the least in 3000 simulated seeds
    expect(worstV1, `seed=${seed}`).toBeGreaterThan(3 * bound);
  });
});
