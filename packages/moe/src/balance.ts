/**
 * Balance without an auxiliary loss (arXiv 2408.15664): per-step expert loads from the dispatch
 * offsets, and the bias update b_e += rate · sign(mean load − load_e) the trainer applies after a step.
 */
import { ShapeError } from '@hsa/kernels';
import type { Tensor } from '@hsa/tensor';

/**
 * Tokens per expert from dispatch offsets [E + 1], summed over a training forward's token blocks
 * when given several (reads back to the host: once per step).
 */
export async function expertLoad(offsets: Tensor | Tensor[]): Promise<Uint32Array> {
  const list = Array.isArray(offsets) ? offsets : [offsets];
  const load = new Uint32Array(Math.max(list[0]?.size ?? 1, 1) - 1);
  for (const t of list) {
    const o = (await t.data()) as Uint32Array;
    for (let e = 0; e < load.length; e++) load[e] += o[e + 1] - o[e];
  }
  return load;
}

/** Accumulates expert loads over the micro-batches of one training step. */
export class LoadStats {
  readonly load: Float64Array;
  constructor(readonly experts: number) {
    this.load = new Float64Array(experts);
  }

  add(load: ArrayLike<number>): void {
    if (load.length !== this.experts) throw new ShapeError(`LoadStats: ${load.length} loads for ${this.experts} experts`);
    for (let e = 0; e < this.experts; e++) this.load[e] += load[e];
  }

  /** max load / mean load (1 = perfectly balanced). */
  get imbalance(): number {
    const mean = this.load.reduce((a, b) => a + b, 0) / this.experts;
    return mean === 0 ? 1 : Math.max(...this.load) / mean;
  }

  reset(): void {
    this.load.fill(0);
  }
}

/** b_e += rate · sign(mean load − load_e): overloaded experts lose selection bias, idle ones gain. */
export function updateExpertBias(bias: ArrayLike<number>, load: ArrayLike<number>, rate: number): Float32Array {
  if (bias.length !== load.length) throw new ShapeError(`updateExpertBias: ${bias.length} biases, ${load.length} loads`);
  let mean = 0;
  for (let e = 0; e < load.length; e++) mean += load[e];
  mean /= Math.max(load.length, 1);
  return Float32Array.from(bias, (b, e) => b + rate * Math.sign(mean - load[e]));
}
