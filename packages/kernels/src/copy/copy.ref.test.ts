/**
 * copyRef (v2: whole contiguous rows by TypedArray.set) against v1, the per-element loop kept here
 * as the oracle: same bits in every destination element (quiet-NaN payloads included), for slices,
 * transposes, concat-style writes into a wider row, and a copy inside one buffer. One difference by
 * design: v1 moved each f32 through a JS number, which quiets a signaling NaN; a row copy keeps its bits.
 */
import { describe, expect, it } from 'vitest';
import type { TypedArray } from '../core/dtype.js';
import { type CopyParams, copyRef } from './copy.ref.js';

function copyV1([x, out]: TypedArray[], p: CopyParams): void {
  const rank = p.shape.length;
  const n = p.shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(rank).fill(0);
  for (let e = 0; e < n; e++) {
    let [s, d] = [p.srcOffset, p.dstOffset];
    for (let k = 0; k < rank; k++) {
      s += idx[k] * p.srcStrides[k];
      d += idx[k] * p.dstStrides[k];
    }
    out[d] = x[s];
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k] < p.shape[k]) break;
      idx[k] = 0;
    }
  }
}

const bitsEqual = (a: Float32Array, b: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length).every((v, i) => v === new Uint32Array(b.buffer, b.byteOffset, b.length)[i]);

/** Mixed bit patterns with quiet-NaN payloads; no signaling NaNs (v1 quiets them, see the last test). */
function source(n: number): Float32Array {
  const quiet = (b: number) => ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff ? (b | 0x400000) >>> 0 : b);
  const u = Uint32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0x7fc0dead + i : quiet(Math.imul(i + 1, 2654435761) >>> 0)));
  return new Float32Array(u.buffer);
}

const CASES: { name: string; p: CopyParams; src: number; dst: number }[] = [
  { name: 'row slice [5, 20] of [9, 24]', p: { shape: [5, 20], srcStrides: [24, 1], srcOffset: 50, dstStrides: [20, 1], dstOffset: 0, type: 'f32' }, src: 216, dst: 100 },
  { name: 'concat into [3, 2, 40] at column 17', p: { shape: [3, 2, 17], srcStrides: [34, 17, 1], srcOffset: 0, dstStrides: [80, 40, 1], dstOffset: 3, type: 'f32' }, src: 102, dst: 240 },
  { name: 'short rows (element loop)', p: { shape: [4, 3], srcStrides: [3, 1], srcOffset: 1, dstStrides: [5, 1], dstOffset: 2, type: 'u32' }, src: 13, dst: 22 },
  { name: 'transpose [6, 33]', p: { shape: [33, 6], srcStrides: [1, 33], srcOffset: 0, dstStrides: [6, 1], dstOffset: 0, type: 'f32' }, src: 198, dst: 198 },
  { name: 'rank 1 and rank 0', p: { shape: [40], srcStrides: [1], srcOffset: 4, dstStrides: [1], dstOffset: 1, type: 'i32' }, src: 44, dst: 41 },
  { name: 'empty rows', p: { shape: [3, 0], srcStrides: [0, 1], srcOffset: 0, dstStrides: [0, 1], dstOffset: 0, type: 'f32' }, src: 1, dst: 1 },
  { name: 'scalar', p: { shape: [], srcStrides: [], srcOffset: 3, dstStrides: [], dstOffset: 2, type: 'f32' }, src: 4, dst: 4 },
];

describe('copyRef v2 = v1 bit for bit', () => {
  for (const { name, p, src, dst } of CASES) {
    it(name, () => {
      const x = source(src);
      const [o0, o1] = [source(dst).map(() => -1), source(dst).map(() => -1)];
      copyV1([x, o0], p);
      copyRef([x, o1], p);
      expect(bitsEqual(o1, o0)).toBe(true);
    });
  }

  it('inside one buffer (element loop, same order as v1)', () => {
    const p: CopyParams = { shape: [2, 20], srcStrides: [20, 1], srcOffset: 0, dstStrides: [20, 1], dstOffset: 10, type: 'f32' };
    const [b0, b1] = [source(60), source(60)];
    copyV1([b0, b0], p);
    copyRef([b1, b1], p);
    expect(bitsEqual(b1, b0)).toBe(true);
  });

  it('a row copy keeps a signaling NaN bit for bit', () => {
    const x = new Float32Array(new Uint32Array(32).fill(0x7f800001).buffer);
    const out = new Float32Array(32);
    copyRef([x, out], { shape: [32], srcStrides: [1], srcOffset: 0, dstStrides: [1], dstOffset: 0, type: 'f32' });
    expect(bitsEqual(out, x)).toBe(true);
  });
});
