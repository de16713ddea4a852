/**
 * Gradient-check helpers of the training tests: a tiny config (two chunk-size multiples of tokens, so
 * retrieval has two visible chunks and top-2 covers them: no top-k switch under a finite-difference
 * step), a fixed batch with masked targets, analytic gradients through backward(), and central
 * differences of the loss in float64 on the parameters themselves.
 */
import { backward, clearTape, noGrad, type Tensor } from '@hsa/tensor';
import { Float64Backend, readF64 } from '@hsa/tensor/test-utils';
import { parseConfig } from '../../config.js';
import { randomCheckpoint } from '../../test-utils/random-model.js';
import type { TrainForwardOptions, TrainSequence } from '../forward.js';
import { TrainableHsaModel } from '../trainable.js';

/** d = 32, Hq = 2, Hk = 1, dh = 16, S = 64, k = 2, one lower layer, one group (R = 1), one encoder layer. */
export const GRAD_CONFIG = {
  vocab_size: 32,
  hidden_size: 32,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  num_kv_heads: 1,
  intermediate_size: 48,
  rms_norm_eps: 1e-6,
  layer_norm_epsilon: 1e-5,
  attention_bias: false,
  sliding_window: 24,
  num_lower_layers: 1,
  num_upper_groups: 1,
  num_upper_layers: 1,
  encoder_layers: 1,
  chunk_size: 64,
  chunk_topk: 2,
  retrieval_dim: 64,
  initializer_range: 0.1,
  pad_token_id: 0,
  lmk_token_id: 1,
};

/** 192 tokens (3 chunks; tokens ≥ 128 see two), every 5th target masked. */
export function gradBatch(seed: number, length = 192, vocab = 32): TrainSequence {
  let a = seed >>> 0;
  const next = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a >>> 8;
  };
  const ids = Array.from({ length }, () => next() % vocab);
  const targets = ids.map((_, t) => (t % 5 === 4 ? -100 : t + 1 < length ? ids[t + 1] : next() % vocab));
  return { ids, targets };
}

/** A model of the config with seeded random weights (every tensor influences the loss). */
export function gradModel(backend: TrainableHsaModel['backend'], configJson: Record<string, unknown>, seed: number): TrainableHsaModel {
  return TrainableHsaModel.fromFiles(backend, parseConfig(configJson), [randomCheckpoint(configJson, seed)]);
}

/** Gradients of the batch loss by parameter name (read with `read`); parameters without one are absent. */
export async function lossGrads(
  model: TrainableHsaModel,
  batch: TrainSequence,
  options: TrainForwardOptions,
  read: (t: Tensor) => Promise<Float64Array>,
): Promise<Map<string, Float64Array>> {
  const loss = model.loss(batch, options);
  backward(loss);
  loss.dispose();
  const out = new Map<string, Float64Array>();
  for (const p of model.params) {
    if (p.grad) out.set(p.name, await read(p.grad));
    p.zeroGrad();
  }
  clearTape();
  return out;
}

/** Central differences of the loss (float64 backend) at the listed elements of one parameter. */
export function finiteDiff(model: TrainableHsaModel, batch: TrainSequence, options: TrainForwardOptions, name: string, elements: number[], h = 1e-5): number[] {
  const be = model.backend as Float64Backend;
  const p = model.param(name);
  const base = readF64(p.value);
  const lossAt = (v: Float64Array) =>
    noGrad(() => {
      be.write(p.value.storage, v);
      const l = model.loss(batch, options);
      const y = readF64(l)[0];
      l.dispose();
      return y;
    });
  const out = elements.map((e) => {
    const plus = Float64Array.from(base);
    const minus = Float64Array.from(base);
    plus[e] += h;
    minus[e] -= h;
    return (lossAt(plus) - lossAt(minus)) / (2 * h);
  });
  be.write(p.value.storage, base);
  return out;
}

/** The `n` elements of largest |g| (the ones a wrong gradient shows in), and element 0 when `first`. */
export function topElements(g: Float64Array, n: number, first = true): number[] {
  const order = Array.from(g.keys()).sort((i, j) => Math.abs(g[j]) - Math.abs(g[i]));
  return [...new Set([...order.slice(0, n), ...(first ? [0] : [])])];
}

export { Float64Backend, readF64 };
