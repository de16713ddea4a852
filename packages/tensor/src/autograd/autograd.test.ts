/**
 * Every differentiable op: (1) analytic gradients against central finite differences, both in float64
 * on the CPU references (Float64Backend); (2) each backend's f32 gradients against those float64 ones,
 * on fresh random inputs.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend.js';
import { Tensor } from '../tensor.js';
import { type GradCase, gradientSuites } from '../test-utils/gradcheck-suite.js';
import * as ag from './index.js';
import { splitKFactor } from './ops-linalg.js';

const i32 = (be: Backend, v: number[]) => Tensor.from(be, v, [v.length], 'i32');

const CASES: GradCase[] = [
  { name: 'add (broadcast)', shapes: [[3, 5], [5]], f: ([a, b]) => ag.add(a, b) },
  { name: 'sub (broadcast)', shapes: [[2, 1, 4], [3, 1]], f: ([a, b]) => ag.sub(a, b) },
  { name: 'mul (broadcast)', shapes: [[3, 4], [3, 1]], f: ([a, b]) => ag.mul(a, b) },
  { name: 'scale, addScalar', shapes: [[7]], f: ([x]) => ag.addScalar(ag.scale(x, -1.5), 0.25) },
  { name: 'matmul', shapes: [[5, 7], [7, 3]], f: ([a, b]) => ag.matmul(a, b) },
  { name: 'matmul shared Bᵀ (linear)', shapes: [[2, 5, 7], [3, 7]], f: ([a, b]) => ag.matmul(a, b, { transB: true }) },
  { name: 'matmul shared B', shapes: [[2, 5, 7], [7, 3]], f: ([a, b]) => ag.matmul(a, b) },
  { name: 'matmul batched Aᵀ', shapes: [[2, 7, 5], [2, 7, 3]], f: ([a, b]) => ag.matmul(a, b, { transA: true }) },
  { name: 'matmul batched Bᵀ', shapes: [[2, 3, 4], [2, 5, 4]], f: ([a, b]) => ag.matmul(a, b, { transB: true }) },
  // K = 2048 tokens: the weight gradient splits over K (8 batched products, summed in order)
  { name: 'matmul linear, weight gradient split over K', shapes: [[2048, 5], [3, 5]], f: ([a, b]) => ag.matmul(a, b, { transB: true }) },
  { name: 'matmul shared B, split over K', shapes: [[2, 1024, 3], [3, 2]], f: ([a, b]) => ag.matmul(a, b) },
  // one 2-D input against a batch of weights (fused projections): A's gradient sums the batch
  { name: 'matmul shared A (fused x·Wᵀ)', shapes: [[5, 7], [3, 4, 7]], f: ([a, b]) => ag.matmul(a, b, { transB: true }) },
  { name: 'matmul shared A', shapes: [[5, 7], [2, 7, 3]], f: ([a, b]) => ag.matmul(a, b) },
  { name: 'matmul shared A, weight gradients split over K', shapes: [[2048, 5], [2, 3, 5]], f: ([a, b]) => ag.matmul(a, b, { transB: true }) },
  // swiglu of unbind's two entries writes the source's gradient at once: its entries at 96 bytes
  // (copied into place on WebGPU, whose bindings align to 256) and at 256 bytes (bound in place)
  {
    name: 'fused projections: matmul, unbind, swiglu',
    shapes: [[6, 5], [2, 4, 5]],
    f: ([x, w]) => {
      const [g, u] = ag.unbind(ag.matmul(x, w, { transB: true }));
      return ag.swiglu(g, u);
    },
  },
  {
    name: 'fused gate / up: swiglu of unbind, gate used again',
    shapes: [[16, 5], [2, 4, 5]],
    f: ([x, w]) => {
      const [g, u] = ag.unbind(ag.matmul(x, w, { transB: true }));
      return ag.add(ag.swiglu(g, u), ag.mul(g, g));
    },
  },
  {
    name: 'unbind on axis 1, one entry unused',
    shapes: [[2, 3, 4]],
    f: ([x]) => {
      const [a, , c] = ag.unbind(x, 1);
      return ag.add(ag.mul(a, c), a);
    },
  },
  { name: 'sum, mean', shapes: [[4, 6]], f: ([x]) => ag.mean(ag.sum(x, 1, { keepDims: true }), 0) },
  { name: 'permute, contiguous, reshape', shapes: [[2, 3, 4]], f: ([x]) => ag.reshape(ag.contiguous(ag.permute(x, [2, 0, 1])), [4, 6]) },
  { name: 'softmax', shapes: [[3, 7]], f: ([x]) => ag.softmax(x) },
  { name: 'rmsNorm', shapes: [[4, 9], [9]], f: ([x, w]) => ag.rmsNorm(x, w, 1e-5) },
  { name: 'swiglu', shapes: [[3, 5], [3, 5]], f: ([g, u]) => ag.swiglu(g, u) },
  { name: 'rope (offset)', shapes: [[2, 3, 2, 4]], f: ([x]) => ag.rope(x, { positionOffset: 3 }) },
  { name: 'rope (tensor positions, large)', shapes: [[2, 3, 2, 4]], f: ([x], be) => ag.rope(x, { positions: i32(be, [7, 5_000_000, -40]) }) },
  { name: 'embedding (repeated ids)', shapes: [[6, 4]], f: ([t], be) => ag.embedding(t, i32(be, [2, 5, 2, 0, 2])) },
  {
    name: 'crossEntropy (masked)',
    shapes: [[5, 6]],
    f: ([x], be) => ag.reshape(ag.crossEntropy(x, i32(be, [1, -100, 3, 3, 0])), [1]),
  },
  {
    name: 'checkpoint (recomputed block)',
    shapes: [[3, 4], [4, 5], [4, 5]],
    f: ([x, w1, w2]) => ag.checkpoint((h) => ag.swiglu(ag.matmul(h, w1), ag.matmul(h, w2)), [ag.scale(x, 2)]),
  },
];

// f32 through a short chain of ops: bounded relative to each tensor's largest gradient.
gradientSuites('autograd', CASES, 3e-5);

describe('split-K weight gradients', () => {
  it('split while the 128² output tiles stay within three waves and K divides, never below 256 rows a split', () => {
    expect(splitKFactor(4096, 512, 512)).toBe(16);
    expect(splitKFactor(4096, 1536, 512)).toBe(8);
    expect(splitKFactor(4096, 4096, 512)).toBe(2);
    expect(splitKFactor(4096, 2048, 2048)).toBe(1);
    expect(splitKFactor(4096, 32000, 512)).toBe(1);
    expect(splitKFactor(2048, 3, 5)).toBe(8);
    expect(splitKFactor(2047, 3, 5)).toBe(1);
    expect(splitKFactor(4100, 3, 5)).toBe(4);
  });
});
