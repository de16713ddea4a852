/**
 * The CPU kernel of hsaChunkAttentionForward (partRef: P·V four rows per pass) against
 * hsaChunkAttentionForwardRef, the plain axpy loop: equal outputs bit for bit (f32 and f64 arrays,
 * GQA, slots with zero weight and repeated chunks).
 */
import { describe, expect, it } from 'vitest';
import type { FloatArray } from '../core/dtype.js';
import { hsaChunkAttentionForward } from './hsaChunkAttention.js';
import { type HsaChunkAttentionParams, hsaChunkAttentionForwardRef } from './hsaChunkAttention.ref.js';

let seed = 3;
const rand = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed / 2 ** 32) * 4 - 2;
};

describe('hsaChunkAttentionForward CPU kernel = reference bit for bit', () => {
  const p: HsaChunkAttentionParams = { t: 7, hq: 4, hk: 2, d: 9, s: 6, chunks: 5, k: 3 };
  for (const f32 of [true, false]) {
    it(`${f32 ? 'f32' : 'f64'} arrays`, () => {
      const arr = (n: number): FloatArray => {
        const xs = Array.from({ length: n }, rand);
        return f32 ? Float32Array.from(xs) : Float64Array.from(xs);
      };
      const q = arr(p.t * p.hq * p.d);
      const [memK, memV] = [arr(p.chunks * p.s * p.hk * p.d), arr(p.chunks * p.s * p.hk * p.d)];
      const slots = p.t * p.hk * p.k;
      const idx = Int32Array.from({ length: slots }, (_, i) => (i * 7) % p.chunks);
      const w = arr(slots).map((x, i) => (i % 4 === 1 ? 0 : Math.abs(x)));
      const [o0, o1] = [arr(p.t * p.hq * p.d), arr(p.t * p.hq * p.d)];
      hsaChunkAttentionForwardRef([q, memK, memV, idx, w, o0], p);
      hsaChunkAttentionForward.ref([q, memK, memV, idx, w, o1], p);
      // the kernel writes 0 + acc (its accumulate mode), so −0 becomes +0: compare with ===
      expect(Array.from(o1).findIndex((x, i) => x !== o0[i])).toBe(-1);
    });
  }
});
