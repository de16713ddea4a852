/** Bad arguments to the attention backward ops (and the SWA forward's variant) throw typed errors that name the op and the shapes. */
import { ArgumentError, DTypeError, ShapeError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../cpu/cpu-backend.js';
import { Tensor } from '../../tensor.js';
import { cast } from '../cast.js';
import { swaAttentionBackward } from './attentionBackward.js';
import { hsaChunkAttentionBackward } from './hsaChunkAttentionBackward.js';
import { hsaRetrievalBackward } from './hsaRetrievalBackward.js';
import { swaAttention } from './swaAttention.js';

const be = new CpuBackend();
const t = (shape: number[], dtype: 'f32' | 'i32' = 'f32') => Tensor.from(be, new Array(shape.reduce((a, b) => a * b, 1)).fill(0), shape, dtype);

describe('attention backward guards', () => {
  it('swaAttentionBackward: mismatched shapes, bad head ratio, bad window', () => {
    const [q, k, lse] = [t([5, 4, 3]), t([5, 2, 3]), t([5, 4])];
    expect(() => swaAttentionBackward(q, k, k, q, t([5, 3]), q, { window: 2 })).toThrow(/swaAttentionBackward: shapes do not match: .*lse \[5, 3\]/);
    expect(() => swaAttentionBackward(q, t([5, 3, 3]), t([5, 3, 3]), q, lse, q, { window: 2 })).toThrow(ShapeError);
    expect(() => swaAttentionBackward(q, k, k, q, lse, q, { window: -1 })).toThrow(ArgumentError);
  });

  it('hsaChunkAttentionBackward: memory not in whole chunks, idx dtype, slot shapes', () => {
    const [q, mem, w] = [t([3, 2, 4]), t([6, 1, 4]), t([3, 1, 2])];
    const idx = t([3, 1, 2], 'i32');
    expect(() => hsaChunkAttentionBackward(q, mem, mem, idx, w, q, { chunkSize: 4 })).toThrow(/memK, memV \[C·4, Hk, D\]/);
    expect(() => hsaChunkAttentionBackward(q, mem, mem, w, w, q, { chunkSize: 3 })).toThrow(DTypeError);
    expect(() => hsaChunkAttentionBackward(q, mem, mem, idx, t([3, 1, 3]), q, { chunkSize: 3 })).toThrow(ShapeError);
    expect(() => hsaChunkAttentionBackward(q, mem, mem, idx, w, q, { chunkSize: 0 })).toThrow(ArgumentError);
  });

  it('hsaChunkAttentionBackward: the mma variant where the device has no subgroup matrices, an unknown variant, mixed memory dtypes', () => {
    const [q, mem, w] = [t([3, 16, 64]), t([64, 1, 64]), t([3, 1, 2])];
    const idx = t([3, 1, 2], 'i32');
    expect(() => hsaChunkAttentionBackward(q, mem, mem, idx, w, q, { chunkSize: 64, backwardVariant: 'mma' })).toThrow(/mma variant cannot run here \(no shader-f16\)/);
    expect(() => hsaChunkAttentionBackward(q, mem, mem, idx, w, q, { chunkSize: 64, backwardVariant: 'fast' as 'mma' })).toThrow(ArgumentError);
    const half = cast(Tensor.from(be, new Float32Array(64 * 64), [64, 1, 64]), 'f16');
    expect(() => hsaChunkAttentionBackward(q, mem, half, idx, w, q, { chunkSize: 64 })).toThrow(ShapeError);
    expect(() => hsaChunkAttentionBackward(q, mem, mem, idx, w, q, { chunkSize: 64 })).not.toThrow();
  });

  it('swaAttention: the mma variant where the device has no subgroup matrices, an unknown variant; tiles by default here', () => {
    const [q, k] = [t([5, 16, 16]), t([5, 1, 16])];
    expect(() => swaAttention(q, k, k, { window: 2, variant: 'mma' })).toThrow(/mma variant cannot run here \(no shader-f16\)/);
    expect(() => swaAttention(q, k, k, { window: 2, variant: 'fast' as 'mma' })).toThrow(ArgumentError);
    expect(swaAttention(q, k, k, { window: 2 }).shape).toEqual([5, 16, 16]);
  });

  it('hsaRetrievalBackward: sel / dw shapes and the fusion mode', () => {
    const [qr, lmk] = [t([5, 1, 3]), t([2, 1, 3])];
    const fwd = { idx: t([5, 2, 2], 'i32'), w: t([5, 2, 2]), sel: t([5, 1, 2]) };
    expect(() => hsaRetrievalBackward(qr, lmk, fwd, t([5, 2, 3]), { mode: 'softmax' })).toThrow(/hsaRetrievalBackward: expected .* got .*\[5, 2, 3\]/);
    expect(() => hsaRetrievalBackward(qr, lmk, { ...fwd, sel: t([5, 2, 2]) }, fwd.w, { mode: 'softmax' })).toThrow(ShapeError);
    expect(() => hsaRetrievalBackward(qr, lmk, fwd, fwd.w, { mode: 'other' as 'softmax' })).toThrow(ArgumentError);
  });
});
