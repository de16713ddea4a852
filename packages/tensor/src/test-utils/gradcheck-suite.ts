/**
 * The two gradient suites every differentiable op gets (tests): float64 analytic gradients against
 * central finite differences on the CPU references, then each backend's f32 gradients against those
 * float64 ones, on fresh random inputs.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { Float64Backend, fromF64, readF64 } from './f64-backend.js';
import { analyticGrads, finiteDiffs, type GradFn, type MakeTensor, sampleElements } from './gradcheck.js';
import { expectClose, freshSeed, randF32, testBackends } from './index.js';

export interface GradCase {
  name: string;
  shapes: number[][];
  f: GradFn;
}

const makeF64: MakeTensor = (be, data, shape) => fromF64(be as Float64Backend, Float64Array.from(data), shape);
const makeF32: MakeTensor = (be, data, shape) => Tensor.from(be, Float32Array.from(data), shape);

/** Inputs, probe weights and float64 analytic gradients of one case. */
function oracle(c: GradCase, seed: number) {
  const be = new Float64Backend();
  const values = c.shapes.map((s, i) => Float64Array.from(randF32(s.reduce((a, b) => a * b, 1), seed + i)));
  // a probe run on inputs that are not Parameters records nothing; it gives the output size
  const probe = c.f(
    values.map((v, i) => makeF64(be, v, c.shapes[i])),
    be,
  );
  const r = Float64Array.from(randF32(probe.size, seed + 99));
  probe.dispose();
  const xs = values.map((v, i) => makeF64(be, v, c.shapes[i]));
  const grads = analyticGrads(c.f, xs, r, be, makeF64).map(readF64);
  return { be, values, r, grads };
}

/**
 * Defines both suites for `cases`. `f32Tol` bounds each backend's f32 gradient relative to the
 * largest float64 gradient of the tensor (elementwise relative bounds mean nothing where terms cancel).
 */
export function gradientSuites(label: string, cases: GradCase[], f32Tol: number): void {
  const rows = cases.map((c) => [c.name, c] as const);
  describe(`${label}: float64 analytic gradients match central finite differences`, () => {
    it.each(rows)('%s', (_, c) => {
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
  describe.each(testBackends())(`${label} on %s: f32 gradients match the float64 ones`, (_, make) => {
    it.each(rows)('%s', async (_n, c) => {
      const backend = await make();
      const seed = freshSeed();
      const { values, r, grads } = oracle(c, seed);
      const xs = values.map((v, i) => Tensor.from(backend, Float32Array.from(v), c.shapes[i]));
      const got = analyticGrads(c.f, xs, Float32Array.from(r), backend, makeF32);
      expect(got.length).toBe(c.shapes.length);
      for (let i = 0; i < got.length; i++) {
        const scale = grads[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        expectClose(await got[i].data(), grads[i], f32Tol * scale + 1e-6, `seed ${seed} input ${i}`);
        got[i].dispose();
      }
    });
  });
}
