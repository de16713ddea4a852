// The sequence-level balance loss (moeSeqAuxLoss): float64 gradients against central finite
// differences, each backend's f32 gradients against those; its value against moeSeqAuxLossRef per
// sequence; uniform routing gives the minimum α.
import { moeSeqAuxLossRef } from '@hsa/kernels';
import { type Backend, Tensor } from '@hsa/tensor';
import { expectClose, freshSeed, type GradCase, gradientSuites, randF32, testBackends } from '@hsa/tensor/test-utils';
import { describe, expect, it } from 'vitest';
import { moeSeqAuxLoss } from './aux.js';
import { route } from './ops.js';

const opts = (k: number, scoreFn: 'sigmoid' | 'softmax', nGroup = 1) => ({ k, nGroup, topkGroup: nGroup, scoreFn, norm: true, scale: 1 });

function auxCase(name: string, T: number, E: number, k: number, scoreFn: 'sigmoid' | 'softmax', seqLen?: number): GradCase {
  const f = ([logits]: Tensor[], be: Backend) => {
    const bias = Tensor.from(be, randF32(E, 3, -0.1, 0.1), [E]);
    const r = route(logits, bias, opts(k, scoreFn));
    const loss = moeSeqAuxLoss(logits, r, { alpha: 0.7, scoreFn, seqLen });
    for (const t of [bias, r.scores, r.idx, r.weights]) t.dispose();
    return loss;
  };
  return { name, shapes: [[T, E]], f };
}

gradientSuites(
  'moeSeqAuxLoss',
  [auxCase('sigmoid, one sequence', 9, 6, 2, 'sigmoid'), auxCase('softmax, 3 sequences of 5', 15, 7, 3, 'softmax', 5), auxCase('one token', 1, 4, 1, 'sigmoid')],
  // one f32 reduction over T·E terms, relative to the largest gradient
  1e-4,
);

describe.each(testBackends())('moeSeqAuxLoss value on %s', (_n, make) => {
  it('is the mean of the per-sequence losses of the reference', async () => {
    const be = await make();
    const seed = freshSeed();
    const [T, E, k, S] = [300, 12, 3, 100];
    const logits = Tensor.from(be, randF32(T * E, seed, -2, 2), [T, E]);
    const r = route(logits, Tensor.from(be, new Float32Array(E), [E]), opts(k, 'softmax'));
    const loss = moeSeqAuxLoss(logits, r, { alpha: 0.3, scoreFn: 'softmax', seqLen: S });
    const [scores, idx] = [Float64Array.from(await r.scores.data()), await r.idx.data()];
    let want = 0;
    for (let b = 0; b < T / S; b++) {
      want += moeSeqAuxLossRef(scores.subarray(b * S * E, (b + 1) * S * E), idx.subarray(b * S * k, (b + 1) * S * k), { T: S, E, k, alpha: 0.3, scoreFn: 'softmax' }) / (T / S);
    }
    // f32 sums over S·E terms of size ≤ α·E/k·1/S: a relative 1e-5 is ample
    expectClose(await loss.data(), [want], 1e-5 * want, `seed ${seed}`);
    // every token picks the same number of each expert and scores are uniform: the minimum α
    const flat = Tensor.from(be, new Float32Array(4 * 4), [4, 4]);
    const ids = Tensor.from(be, [0, 1, 2, 3, 0, 1, 2, 3], [4, 2], 'i32');
    const uni = moeSeqAuxLoss(flat, { scores: Tensor.from(be, new Float32Array(16).fill(0.5), [4, 4]), idx: ids }, { alpha: 0.3, scoreFn: 'sigmoid' });
    expect((await uni.data())[0]).toBeCloseTo(0.3, 6);
  });
});
