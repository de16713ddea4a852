import { f32ToBf16, f32ToF16 } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend.js';
import { Tensor } from '../tensor.js';
import { freshSeed, rng, testBackends } from '../test-utils/index.js';
import { cast } from './cast.js';

const asF32 = (bits: Uint32Array) => new Float32Array(bits.buffer);
const isNaN16 = (h: number, dtype: 'f16' | 'bf16') =>
  dtype === 'bf16' ? (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0 : (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

/** f32 bit patterns: every exponent class, exact round-to-even ties for both halves, specials. */
function f32Patterns(n: number, seed: number): Uint32Array {
  const r = rng(seed);
  const special = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x00000001, 0x807fffff, 0x477fefff, 0x477ff000, 0x33000000, 0x33000001];
  return Uint32Array.from({ length: n }, (_, i) => {
    if (i < special.length) return special[i];
    const sign = r() < 0.5 ? 0x80000000 : 0;
    const kind = r();
    const exp = kind < 0.6 ? 100 + Math.floor(r() * 46) : Math.floor(r() * 255); // f16's range, or any
    let mant = Math.floor(r() * 0x800000);
    const tie = r();
    if (tie < 0.2) mant = (mant & ~0xffff) | 0x8000; // bf16 tie
    else if (tie < 0.4) mant = (mant & ~0x1fff) | 0x1000; // f16 tie
    return (sign | (exp << 23) | mant) >>> 0;
  });
}

async function raw16(t: Tensor): Promise<Uint16Array> {
  return new Uint16Array(await t.backend.read(t.storage, 0, Math.ceil(t.size / 2) * 4), 0, t.size);
}

async function roundTrip(b: Backend, n: number, dtype: 'f16' | 'bf16', seed: number): Promise<void> {
  const bits = f32Patterns(n, seed);
  const x = Tensor.from(b, asF32(bits), [n]);
  const h = cast(x, dtype);
  const got = await raw16(h);
  const enc = dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  for (let i = 0; i < n; i++) {
    const v = asF32(bits)[i];
    if (Number.isNaN(v)) expect(isNaN16(got[i], dtype), `NaN ${i}`).toBe(true);
    else expect(got[i], `${dtype} n=${n} seed=${seed} elem ${i} bits 0x${bits[i].toString(16)}`).toBe(enc(v));
  }
  // back to f32: exact widening, compared as f32 bits (NaN only as NaN)
  const back = cast(h, 'f32');
  const wide = await back.data();
  const want = dtype === 'bf16' ? Array.from(got, (g) => asF32(new Uint32Array([g << 16]))[0]) : Array.from(got, f16Value);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(want[i])) expect(Number.isNaN(wide[i])).toBe(true);
    else expect(Object.is(wide[i], want[i]), `${dtype}→f32 elem ${i}: ${wide[i]} vs ${want[i]}`).toBe(true);
  }
  for (const t of [x, h, back]) t.dispose();
}

/** Independent f16 decoding in float64. */
function f16Value(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

describe.each(testBackends())('cast on %s', (_name, make) => {
  it.each(['bf16', 'f16'] as const)('f32 → %s rounds to nearest even bit-exactly, and back', async (dtype) => {
    const b = await make();
    for (const n of [1, 11, 12, 70_001]) await roundTrip(b, n, dtype, freshSeed());
  });

  it('i32 ↔ f32: nearest-even widening, truncating and saturating narrowing', async () => {
    const b = await make();
    const seed = freshSeed();
    const r = rng(seed);
    const n = 4099;
    const ints = Int32Array.from({ length: n }, (_, i) =>
      i < 4 ? [2147483647, -2147483648, 16777217, -16777219][i] : Math.floor((r() - 0.5) * 2 ** (1 + r() * 31)),
    );
    const xi = Tensor.from(b, ints, [n], 'i32');
    const f = cast(xi, 'f32');
    expect(Array.from(await f.data()), `seed=${seed}`).toEqual(Array.from(ints, Math.fround));
    const floats = Float32Array.from({ length: n }, (_, i) =>
      i < 6 ? [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 3e9, -2.5, 2147483520][i] : (r() - 0.5) * 2 ** (r() * 34),
    );
    const want = Array.from(floats, (v) => (Number.isNaN(v) ? 0 : Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.trunc(v) + 0))));
    const xf = Tensor.from(b, floats, [n]);
    const i32 = cast(xf, 'i32');
    expect(Array.from(await i32.data()), `seed=${seed}`).toEqual(want);
    for (const t of [xi, f, xf, i32]) t.dispose();
  });

  it('f16 → bf16 directly equals the two host conversions', async () => {
    const b = await make();
    const seed = freshSeed();
    const r = rng(seed);
    const bits = Uint16Array.from({ length: 1001 }, () => Math.floor(r() * 65536));
    const x = Tensor.from(b, bits, [1001], 'f16');
    const y = cast(x, 'bf16');
    const got = await raw16(y);
    bits.forEach((h, i) => {
      const v = f16Value(h);
      if (Number.isNaN(v)) expect(isNaN16(got[i], 'bf16')).toBe(true);
      else expect(got[i], `seed=${seed} elem ${i}`).toBe(f32ToBf16(v));
    });
    x.dispose();
    y.dispose();
  });

  it('rejects u32 with a typed error naming the shape', async () => {
    const b = await make();
    const x = Tensor.from(b, [1, 2], [2]);
    expect(() => cast(x, 'u32')).toThrow(/cast: cannot cast f32 tensor of shape \[2\] to u32/);
    x.dispose();
  });
});
