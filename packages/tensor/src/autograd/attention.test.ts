/**
 * The differentiable attention ops (ag.swaAttention, ag.chunkEncoderAttention, ag.hsaChunkAttention,
 * ag.hsaRetrieval): (1) float64 analytic gradients through the CPU path against central finite
 * differences; (2) each backend's f32 gradients against those float64 ones, on fresh random inputs.
 * Sizes: T not a multiple of S, rows t < S with no visible chunk, Hk = 1 and Hk = Hq, ratio 3.
 */
import { describe, it } from 'vitest';
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

/** A fixed selection [5, hk, 2] over 3 chunks (repeats allowed). */
const idx = (be: Backend, hk: number) =>
  Tensor.from(be, Array.from({ length: 5 * hk * 2 }, (_, i) => (i * 7 + 1) % 3), [5, hk, 2], 'i32');

const CASES: Case[] = [
  { name: 'swaAttention hq 3, hk 1, window 2', shapes: [[7, 3, 4], [7, 1, 4], [7, 1, 4]], f: ([q, k, v]) => ag.swaAttention(q, k, v, { window: 2 }) },
  { name: 'swaAttention hq = hk = 2, window 9', shapes: [[6, 2, 3], [6, 2, 3], [6, 2, 3]], f: ([q, k, v]) => ag.swaAttention(q, k, v, { window: 9 }) },
  {
    name: 'chunkEncoderAttention hq 2, hk 1',
    shapes: [[2, 5, 2, 3], [2, 5, 1, 3], [2, 5, 1, 3]],
    f: ([q, k, v]) => ag.chunkEncoderAttention(q, k, v),
  },
  {
    name: 'hsaChunkAttention hq 3, hk 1 (S 2, 3 chunks)',
    shapes: [[5, 3, 4], [6, 1, 4], [6, 1, 4], [5, 1, 2]],
    f: ([q, k, v, w], be) => ag.hsaChunkAttention(q, k, v, idx(be, 1), w, { chunkSize: 2 }),
  },
  {
    name: 'hsaChunkAttention hq = hk = 2, off-by-one',
    shapes: [[5, 2, 3], [6, 2, 3], [6, 2, 3], [5, 2, 2]],
    f: ([q, k, v, w], be) => ag.hsaChunkAttention(q, k, v, idx(be, 2), w, { chunkSize: 2, smN: 1 }),
  },
  {
    name: 'hsaRetrieval softmax + pos_decay, singlehead, hk 2',
    shapes: [[11, 1, 3], [3, 1, 3]],
    f: ([qr, lmk]) => ag.hsaRetrieval(qr, lmk, { chunkSize: 4, topk: 2, mode: 'softmax', hk: 2, posDecay: 0.3 }).w,
  },
  {
    name: 'hsaRetrieval stick-breaking, hr = hk = 2, k > visible',
    shapes: [[11, 2, 3], [3, 2, 3]],
    f: ([qr, lmk]) => ag.hsaRetrieval(qr, lmk, { chunkSize: 4, topk: 5, mode: 'stickBreaking' }).w,
  },
];

const makeF64: MakeTensor = (be, data, shape) => fromF64(be as Float64Backend, Float64Array.from(data), shape);
const makeF32: MakeTensor = (be, data, shape) => Tensor.from(be, Float32Array.from(data), shape);

/** Inputs, probe weights and float64 analytic gradients of one case. */
function oracle(c: Case, seed: number) {
  const be = new Float64Backend();
  const values = c.shapes.map((s, i) => Float64Array.from(randF32(s.reduce((a, b) => a * b, 1), seed + i)));
  // inputs that are not Parameters: nothing is recorded
  const probe = c.f(values.map((v, i) => makeF64(be, v, c.shapes[i])), be);
  const r = Float64Array.from(randF32(probe.size, seed + 99));
  probe.dispose();
  const xs = values.map((v, i) => makeF64(be, v, c.shapes[i]));
  const grads = analyticGrads(c.f, xs, r, be, makeF64).map(readF64);
  return { be, values, r, grads };
}

describe('autograd attention: float64 analytic gradients match central finite differences', () => {
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

describe.each(testBackends())('autograd attention on %s: f32 gradients match the float64 ones', (_, make) => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const backend = await make();
    const seed = freshSeed();
    const { values, r, grads } = oracle(c, seed);
    const xs = values.map((v, i) => Tensor.from(backend, Float32Array.from(v), c.shapes[i]));
    const got = analyticGrads(c.f, xs, Float32Array.from(r), backend, makeF32);
    for (let i = 0; i < got.length; i++) {
      // f32 softmax / exp inside sums of a few dozen terms: bounded relative to the tensor's largest gradient
      const scale = grads[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expectClose(await got[i].data(), grads[i], 2e-4 * scale + 1e-6, `seed ${seed} input ${i}`);
      got[i].dispose();
    }
  });
});
