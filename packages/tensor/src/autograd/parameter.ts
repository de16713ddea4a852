/** Parameters: named leaf tensors whose gradients backward() accumulates, with an optimizer group tag. */
import { ArgumentError } from '@hsa/kernels';
import type { Tensor } from '../tensor.js';

const byTensor = new WeakMap<Tensor, Parameter>();

export class Parameter {
  /** Accumulated gradient (same shape, f32), or null before the first backward / after zeroGrad. */
  grad: Tensor | null = null;

  /**
   * `value` must be f32 and contiguous; the optimizer updates it in place. `decay: false` puts it in
   * the no-weight-decay group (norms, biases, by convention).
   */
  constructor(
    readonly name: string,
    readonly value: Tensor,
    readonly decay = true,
  ) {
    if (value.dtype !== 'f32' || !value.isContiguous || value.offset !== 0) {
      throw new ArgumentError(`Parameter ${name}: value must be a contiguous f32 tensor, got ${value}`);
    }
    byTensor.set(value, this);
    markTracked(value);
  }

  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }
}

const tracked = new WeakSet<Tensor>();

/** Marks a tensor as taking part in autograd (parameters, outputs of recorded ops). */
export function markTracked(t: Tensor): void {
  tracked.add(t);
}

/** True when `t` is a parameter or was computed by a recorded op from one. */
export function requiresGrad(t: Tensor): boolean {
  return tracked.has(t);
}

/** The Parameter whose value is `t`, if any. */
export function parameterOf(t: Tensor): Parameter | undefined {
  return byTensor.get(t);
}
