/**
 * AdamW (PyTorch semantics: decoupled weight decay, bias correction) over Parameters, one fused kernel
 * per tensor. Two parameter groups by `Parameter.decay`: weight decay on matrices, none on norms and
 * biases. Gradient clipping and 1/accumulation come in as one scale folded into the kernel.
 */
import { adamw as adamwKernel, ArgumentError } from '@hsa/kernels';
import type { Parameter } from '../autograd/parameter.js';
import { fill } from '../ops/fill.js';
import type { Tensor } from '../tensor.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** decoupled weight decay of the decay group (default 0.01); the no-decay group gets 0 */
  weightDecay?: number;
}

/** First and second moments of one parameter. */
export interface AdamWState {
  m: Tensor;
  v: Tensor;
}

export class AdamW {
  /** Updates taken so far (the t of the bias correction). */
  step = 0;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly state = new Map<Parameter, AdamWState>();

  constructor(
    readonly params: readonly Parameter[],
    options: AdamWOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    const names = new Set(params.map((p) => p.name));
    if (names.size !== params.length) throw new ArgumentError('AdamW: parameter names must be unique (they key the checkpoint)');
  }

  /** The moments of `p`, created as zeros on first use. */
  stateOf(p: Parameter): AdamWState {
    let s = this.state.get(p);
    if (!s) {
      const be = p.value.backend;
      s = { m: fill(be, p.value.shape, 0), v: fill(be, p.value.shape, 0) };
      this.state.set(p, s);
    }
    return s;
  }

  /** One update of every parameter that has a gradient; `gradScale` multiplies the gradients first. */
  update(lr: number, gradScale = 1): void {
    if (!Number.isFinite(lr) || lr < 0) throw new ArgumentError(`AdamW: learning rate must be finite and ≥ 0, got ${lr}`);
    this.step++;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    for (const p of this.params) {
      if (!p.grad || p.value.size === 0) continue;
      const { m, v } = this.stateOf(p);
      const params = {
        n: p.value.size,
        lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: p.decay ? this.weightDecay : 0,
        bc1,
        bc2,
        gscale: gradScale,
      };
      p.value.backend.run(adamwKernel, params, [p.grad.arg(), p.value.arg(), m.arg(), v.arg()]);
    }
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** Moments by parameter name (for checkpoints), created if missing. */
  moments(): Map<string, AdamWState> {
    return new Map(this.params.map((p) => [p.name, this.stateOf(p)]));
  }
}
