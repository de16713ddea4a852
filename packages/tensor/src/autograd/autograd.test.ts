/**
 * Every differentiable op: (1) analytic gradients against central finite differences, both in float64
 * on the CPU references (Float64Backend); (2) each backend's f32 gradients against those float64 ones,
 * on fresh random inputs.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend.js';
import { Tensor } from '../tensor.js';
import { Float64Backend, fromF64, readF64 } from '../test-utils/f64-backend.js';
import { analyticGrads, finiteDiffs, type GradFn, type MakeTensor, sampleElements } from '../test-utils/gradcheck.js';
import { expectClose, freshSeed, randF32, testBackends } from '../test-utils/index.js';
import * as ag from './index.js';

interface Case {
  name: string;
  shapes: number[][];
  f: GradFn;
}

const i32 = (be: Backend, v: number[]) => Tensor.from(be, v, [v.length], 'i32');

const CASES: Case[] = [
  { name: 'add (broadcast)', shapes: [[3, 5], [5]], f: ([a, b]) => ag.add(a, b) },
  { name: 'sub (broadcast)', shapes: [[2, 1, 4], [3, 1]], f: ([a, b]) => ag.sub(a, b) },
  { name: 'mul (broadcast)', shapes: [[3, 4], [3, 1]], f: ([a, b]) => ag.mul(a, b) },
  { name: 'scale, addScalar', shapes: [[7]], f: ([x]) => ag.addScalar(ag.scale(x, -1.5), 0.25) },
  { name: 'matmul', shapes: [[5, 7], [7, 3]], f: ([a, b]) => ag.matmul(a, b) },
  { name: 'matmul shared Bᵀ (linear)', shapes: [[2, 5, 7], [3, 7]], f: ([a, b]) => ag.matmul(a, b, { transB: true }) },
  { name: 'matmul shared B', shapes: [[2, 5, 7], [7, 3]], f: ([a, b]) => ag.matmul(a, b) },
  { name: 'matmul batched Aᵀ', shapes: [[2, 7, 5], [2, 7, 3]], f: ([a, b]) => ag.matmul(a, b, { transA: true }) },
  { name: 'matmul batched Bᵀ', shapes: [[2, 3, 4], [2, 5, 4]], f: ([a, b]) => ag.matmul(a, b, { transB: true }) },
  { name: 'sum, mean', shapes: [[4, 6]], f: ([x]) => ag.mean(ag.sum(x, 1, { keepDims: true }), 0) },
  { name: 'permute, contiguous, reshape', shapes: [[2, 3, 4]], f: ([x]) => ag.reshape(ag.contiguous(ag.permute(x, [2, 0, 1])), [4, 6]) },
  { name: 'softmax', shapes: [[3, 7]], f: ([x]) => ag.softmax(x) },
  { name: 'rmsNorm', shapes: [[4, 9], [9]], f: ([x, w]) => ag.rmsNorm(x, w, 1e-5) },
  { name: 'swiglu', shapes: [[3, 5], [3, 5]], f: ([g, u]) => ag.swiglu(g, u) },
  { name: 'rope (offset)', shapes: [[2, 3, 2, 4]], f: ([x]) => ag.rope(x, { positionOffset: 3 }) },
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

const makeF64: MakeTensor = (be, data, shape) => fromF64(be as Float64Backend, Float64Array.from(data), shape);
const makeF32: MakeTensor = (be, data, shape) => Tensor.from(be, Float32Array.from(data), shape);

function outShape(c: Case, be: Float64Backend, values: Float64Array[]): readonly number[] {
  const xs = values.map((v, i) => makeF64(be, v, c.shapes[i]));
  const out = c.f(xs, be);
  const s = out.shape;
  ag.sum(ag.reshape(out, [-1]), 0).dispose();
  return s;
}

/** Inputs, probe weights and float64 analytic gradients of one case. */
function oracle(c: Case, seed: number) {
  const be = new Float64Backend();
  const values = c.shapes.map((s, i) => Float64Array.from(randF32(s.reduce((a, b) => a * b, 1), seed + i)));
  const shape = outShape(c, be, values);
  const r = Float64Array.from(randF32(shape.reduce((a, b) => a * b, 1), seed + 99));
  const xs = values.map((v, i) => makeF64(be, v, c.shapes[i]));
  const grads = analyticGrads(c.f, xs, r, be, makeF64).map(readF64);
  return { be, values, r, grads };
}

describe('autograd: float64 analytic gradients match central finite differences', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const seed = freshSeed();
    const { be, values, r, grads } = oracle(c, seed);
    values.forEach((v, which) => {
      const els = sampleElements(v.length);
      const fd = finiteDiffs(c.f, values, c.shapes, r, be, makeF64, readF64, which, els);
      const an = els.map((e) => grads[which][e]);
      expectClose(an, fd, (i) => 1e-6 * (1 + Math.abs(fd[i])), `seed ${seed} input ${which}`);
    });
  });
});

describe.each(testBackends())('autograd on %s: f32 gradients match the float64 ones', (_, make) => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const backend = await make();
    const seed = freshSeed();
    const { values, r, grads } = oracle(c, seed);
    const xs = values.map((v, i) => Tensor.from(backend, Float32Array.from(v), c.shapes[i]));
    const got = analyticGrads(c.f, xs, Float32Array.from(r), backend, makeF32);
    for (let i = 0; i < got.length; i++) {
      const g = await got[i].data();
      // f32 through a short chain of ops: bounded relative to the tensor's largest gradient
      // (elementwise relative bounds mean nothing where terms cancel)
      const scale = grads[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expectClose(g, grads[i], 3e-5 * scale + 1e-6, `seed ${seed} input ${i}`);
      got[i].dispose();
    }
    expect(got.length).toBe(c.shapes.length);
  });
});
