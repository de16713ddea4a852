import { ArgumentError, DTypeError, PORTABLE_CAPS, REDUCE_OPS, type ReduceOp, reduce as reduceKernel, reduceVariant, ShapeError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { numel, type Shape, Tensor } from '../tensor.js';
import { EPS32, expectClose, freshSeed, randF32, reductionTol, testBackends } from '../test-utils/index.js';
import { max, reduce, sum, twoPassChunk } from './reduce.js';

/** float64 oracle over x viewed as [outer, R, inner]: values and Σ|x| per output (for the bound). */
function oracle(op: ReduceOp, x: Float32Array, shape: Shape, axis: number) {
  const outer = numel(shape.slice(0, axis));
  const r = shape[axis];
  const inner = numel(shape.slice(axis + 1));
  const want = new Float64Array(outer * inner);
  const sumAbs = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const vals = Array.from({ length: r }, (_, k) => x[(o * r + k) * inner + j]);
      const s = vals.reduce((a, b) => a + b, 0);
      const i = o * inner + j;
      sumAbs[i] = vals.reduce((a, b) => a + Math.abs(b), 0);
      want[i] = op === 'sum' ? s : op === 'mean' ? s / r : op === 'max' ? Math.max(...vals) : Math.min(...vals);
    }
  }
  return { want, sumAbs, r };
}

// [shape, axis]: R = 1, long single rows, inner > 1, both kernel variants. Not here: > 65535
// workgroups (needs R > 256 and 66k outputs, ~30 s on SwiftShader); the 2-D grid is `grid()`'s.
const CASES: [Shape, number][] = [
  [[1], 0],
  [[7, 1, 13], 1],
  [[3, 257, 5], 1],
  [[50_000], 0],
  [[13, 61], -1],
  [[997, 7, 31], 1],
  [[97, 127], 0],
  [[4099, 3], -1],
  // two passes (a long axis, few outputs): runs that do not divide R, inner > 1
  [[2, 40_961, 3], 1],
  // four outputs a thread (inner a multiple of 4): split-K sums [S, M·N], several outer blocks
  [[16, 1028], 0],
  [[5, 3, 12], 1],
  [[2, 4], 0],
  [[3, 9, 8], 1],
];

describe.each(testBackends())('reduce on %s', (_name, make) => {
  it.each(REDUCE_OPS)('%s over one axis matches float64', async (op) => {
    const b = await make();
    for (const [shape, axis] of CASES) {
      const seed = freshSeed();
      const x = randF32(numel(shape), seed, -4, 4);
      const t = Tensor.from(b, x, shape);
      const y = reduce(op, t, axis);
      const ax = axis < 0 ? axis + shape.length : axis;
      expect(y.shape).toEqual(shape.filter((_, i) => i !== ax));
      const { want, sumAbs, r } = oracle(op, x, shape, ax);
      // max/min are exact; a sum of R f32 terms is within reductionTol; mean adds one division
      const tol = (i: number) =>
        op === 'sum' ? reductionTol(r, sumAbs[i]) : op === 'mean' ? reductionTol(r, sumAbs[i]) / r + EPS32 * Math.abs(want[i]) : 0;
      expectClose(await y.data(), want, tol, `${op} ${shape} axis=${axis} seed=${seed}`);
      t.dispose();
      y.dispose();
    }
  });

  it('covers both kernel variants in the cases above', () => {
    expect(reduceVariant({ op: 'sum', outer: 3, r: 257, inner: 5 })).toBe('workgroup');
    expect(reduceVariant({ op: 'sum', outer: 997, r: 7, inner: 31 })).toBe('thread');
    expect(reduceKernel.program({ op: 'sum', outer: 1, r: 16, inner: 1028 }, PORTABLE_CAPS).key).toBe('reduce:sum:thread4');
    expect(reduceKernel.program({ op: 'max', outer: 3, r: 9, inner: 8 }, PORTABLE_CAPS).key).toBe('reduce:max:thread4');
    expect(reduceKernel.program({ op: 'sum', outer: 997, r: 7, inner: 31 }, PORTABLE_CAPS).key).toBe('reduce:sum:thread');
    expect(twoPassChunk(1, 50_000)).toBeGreaterThan(0);
    expect(50_000 % twoPassChunk(1, 50_000)).not.toBe(0);
    expect(twoPassChunk(6, 40_961)).toBeGreaterThan(0);
    expect(twoPassChunk(997 * 31, 7)).toBe(0);
  });

  it('keepDims keeps the axis as size 1', async () => {
    const b = await make();
    const t = Tensor.from(b, [1, 5, 2, 4, 3, 0], [2, 3]);
    const y = max(t, 1, { keepDims: true });
    expect(y.shape).toEqual([2, 1]);
    expect(Array.from(await y.data())).toEqual([5, 4]);
    expect(Array.from(await sum(t, 0, { keepDims: true }).data())).toEqual([5, 8, 2]);
  });

  it('rejects bad axes, dtypes and empty max with typed errors', async () => {
    const b = await make();
    const t = Tensor.from(b, new Float32Array(6), [2, 3]);
    expect(() => sum(t, 2)).toThrow(ArgumentError);
    expect(() => sum(t, -3)).toThrow(/sum: axis -3 is out of range for shape \[2, 3\]/);
    expect(() => sum(Tensor.from(b, [1], [1], 'i32'), 0)).toThrow(DTypeError);
    expect(() => max(Tensor.empty(b, [2, 0]), 1)).toThrow(ShapeError);
    expect(Array.from(await sum(Tensor.empty(b, [2, 0]), 1).data())).toEqual([0, 0]);
  });
});
