/**
 * The sequence-copy task: [a₁..a_n, SEP, a₁..a_n] with aᵢ drawn from tokens 2..vocab−1; the model
 * sees the first 2n tokens and is scored on predicting the copy (targets before SEP are ignored).
 */
import type { Backend } from '../backend.js';
import { Tensor } from '../tensor.js';
import type { Rng } from './rng.js';

export const COPY_SEP = 1;
export const IGNORE = -100;

/** ids and targets [batch, 2n] for the copy task. */
export function copyBatch(backend: Backend, rng: Rng, batch: number, n: number, vocab: number): { ids: Tensor; targets: Tensor } {
  const t = 2 * n;
  const ids = new Int32Array(batch * t);
  const targets = new Int32Array(batch * t);
  for (let b = 0; b < batch; b++) {
    const a = Array.from({ length: n }, () => 2 + rng.int(vocab - 2));
    const seq = [...a, COPY_SEP, ...a];
    for (let i = 0; i < t; i++) {
      ids[b * t + i] = seq[i];
      targets[b * t + i] = i >= n ? seq[i + 1] : IGNORE;
    }
  }
  return { ids: Tensor.from(backend, ids, [batch, t], 'i32'), targets: Tensor.from(backend, targets, [batch, t], 'i32') };
}
