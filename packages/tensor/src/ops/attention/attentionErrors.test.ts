/** Bad arguments to the attention references throw typed errors that name the op and the problem. */
import {
  ArgumentError,
  hsaChunkAttentionForwardRef,
  hsaRetrievalRef,
  ShapeError,
  swaAttentionDecodeRef,
  swaAttentionForwardRef,
} from '@hsa/kernels';
import { describe, expect, it } from 'vitest';

const f = (n: number) => new Float64Array(n);

describe('attention reference guards', () => {
  it('k ≤ 0 and non-integer sizes are ArgumentErrors', () => {
    const p = { t: 2, chunks: 1, s: 1, hr: 1, hk: 1, dr: 1, mode: 'softmax' as const };
    expect(() => hsaRetrievalRef([f(2), f(1), new Int32Array(2), f(2)], { ...p, topk: 0 })).toThrow(ArgumentError);
    expect(() => hsaRetrievalRef([f(2), f(1), new Int32Array(2), f(2)], { ...p, topk: -1 })).toThrow(/topk must be a positive integer, got -1/);
    expect(() => swaAttentionForwardRef([f(4), f(4), f(4), f(4)], { t: 1, hq: 1, hk: 1, d: 4, window: 1.5 })).toThrow(ArgumentError);
    expect(() => swaAttentionDecodeRef([f(4), f(4), f(4), f(4), f(4), f(4)], { pos: -1, hq: 1, hk: 1, d: 4, window: 1 })).toThrow(
      /swaAttentionDecode: pos must be a non-negative integer/,
    );
  });

  it('a head ratio that does not divide is a ShapeError', () => {
    expect(() => swaAttentionForwardRef([f(12), f(8), f(8), f(12)], { t: 1, hq: 3, hk: 2, d: 4, window: 1 })).toThrow(ShapeError);
    const p = { t: 1, hq: 3, hk: 2, d: 1, s: 1, chunks: 1, k: 1 };
    expect(() => hsaChunkAttentionForwardRef([f(3), f(2), f(2), new Int32Array(2), f(2), f(3)], p)).toThrow(
      /hsaChunkAttention: 3 query heads do not divide into 2 KV heads/,
    );
    const r = { t: 1, chunks: 1, s: 1, hr: 2, hk: 3, dr: 1, topk: 1, mode: 'softmax' as const };
    expect(() => hsaRetrievalRef([f(2), f(2), new Int32Array(3), f(3)], r)).toThrow(ShapeError);
  });

  it('a chunk index out of range is an ArgumentError naming the slot', () => {
    const p = { t: 2, hq: 2, hk: 1, d: 1, s: 2, chunks: 2, k: 2 };
    const idx = Int32Array.from([0, 1, 1, 2]);
    expect(() => hsaChunkAttentionForwardRef([f(4), f(4), f(4), idx, f(4), f(4)], p)).toThrow(ArgumentError);
    expect(() => hsaChunkAttentionForwardRef([f(4), f(4), f(4), idx, f(4), f(4)], p)).toThrow(/idx\[1, 0, 1\] = 2 is outside the 2 stored chunks/);
    idx[3] = -1;
    expect(() => hsaChunkAttentionForwardRef([f(4), f(4), f(4), idx, f(4), f(4)], p)).toThrow(/= -1 is outside/);
  });

  it('arrays too short for the shape are ShapeErrors', () => {
    expect(() => swaAttentionForwardRef([f(7), f(8), f(8), f(8)], { t: 2, hq: 1, hk: 1, d: 4, window: 1 })).toThrow(
      /swaAttention: q has 7 elements, shape \[2, 1, 4\] needs 8/,
    );
  });
});
