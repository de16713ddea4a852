/**
 * Gradient checking helpers (tests): a scalar probe loss Σ out ⊙ R with a fixed random R, so every
 * output element gets its own upstream gradient; analytic gradients through backward(); central
 * finite differences in float64.
 */
import type { Backend } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { mul, reshape, sum } from '../autograd/index.js';
import { Parameter } from '../autograd/parameter.js';
import { backward, noGrad } from '../autograd/tape.js';

/** A differentiable function of f32 tensors (the inputs that get gradients come first). */
export type GradFn = (xs: Tensor[], backend: Backend) => Tensor;

/** Σ f(xs) ⊙ r as a scalar tensor. */
export function probeLoss(f: GradFn, xs: Tensor[], r: Float32Array | Float64Array, backend: Backend, make: MakeTensor): Tensor {
  const out = f(xs, backend);
  const rt = make(backend, r, out.shape);
  const prod = mul(out, rt);
  const flat = reshape(prod, [-1]);
  const loss = sum(flat, 0);
  for (const t of [out, rt, prod, flat]) t.dispose();
  return loss;
}

export type MakeTensor = (backend: Backend, data: Float32Array | Float64Array, shape: readonly number[]) => Tensor;

/** Analytic gradients of the probe loss with respect to each input (the inputs become Parameters). */
export function analyticGrads(f: GradFn, xs: Tensor[], r: Float32Array | Float64Array, backend: Backend, make: MakeTensor): Tensor[] {
  const params = xs.map((x, i) => new Parameter(`x${i}`, x));
  const loss = probeLoss(f, xs, r, backend, make);
  backward(loss);
  loss.dispose();
  return params.map((p) => p.grad ?? make(backend, new Float64Array(p.value.size), p.value.shape));
}

/** Central differences (x ± h) of the probe loss at the listed elements of input `which`. */
export function finiteDiffs(
  f: GradFn,
  values: Float64Array[],
  shapes: readonly (readonly number[])[],
  r: Float64Array,
  backend: Backend,
  make: MakeTensor,
  read: (t: Tensor) => Float64Array,
  which: number,
  elements: number[],
  h = 1e-5,
): number[] {
  const evalAt = (vals: Float64Array[]) =>
    noGrad(() => {
      const xs = vals.map((v, i) => make(backend, v, shapes[i]));
      const l = probeLoss(f, xs, r, backend, make);
      const y = read(l)[0];
      l.dispose();
      for (const x of xs) x.dispose();
      return y;
    });
  return elements.map((e) => {
    const plus = values.map((v) => Float64Array.from(v));
    const minus = values.map((v) => Float64Array.from(v));
    plus[which][e] += h;
    minus[which][e] -= h;
    return (evalAt(plus) - evalAt(minus)) / (2 * h);
  });
}

/** Up to `max` element indices spread over [0, n). */
export function sampleElements(n: number, max = 24): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: max }, (_, i) => Math.floor((i * n) / max));
}
