import { moeLayerForwardRef, ShapeError } from '@hsa/kernels';
import { Tensor } from '@hsa/tensor';
import { expectClose, freshSeed, randF32, testBackends } from '@hsa/tensor/test-utils';
import { describe, expect, it } from 'vitest';
import { disposeForward, MoeLayer, type WeightDtype } from './layer.js';
import { randomLayer, roundBf16 } from './test-utils/layer.js';

type Json = Parameters<typeof randomLayer>[0];

const CASES: [string, Json, number][] = [
  ['one token, E=1', { hidden_size: 8, num_experts: 1, num_experts_per_tok: 1, moe_intermediate_size: 5 }, 1],
  ['E=5 k=2, prime sizes', { hidden_size: 13, num_experts: 5, num_experts_per_tok: 2, moe_intermediate_size: 7, num_shared_experts: 1 }, 37],
  [
    'groups, softmax, no norm, scaled',
    { hidden_size: 24, num_experts: 12, num_experts_per_tok: 3, moe_intermediate_size: 20, n_group: 4, topk_group: 2, score_function: 'softmax', norm_topk_prob: false, routed_scaling_factor: 2.5, num_shared_experts: 2 },
    131,
  ],
  ['E=64 k=4, tiles of many rows', { hidden_size: 72, num_experts: 64, num_experts_per_tok: 4, moe_intermediate_size: 40, num_shared_experts: 1 }, 300],
];

/**
 * Compares token rows whose top-k is not a near-tie (a gap < 1e-5 between the k-th and (k+1)-th
 * biased score may legitimately flip between f32 and float64); returns how many were compared.
 */
function compareRows(got: Float32Array, gotIdx: Int32Array | Float32Array | Uint32Array, want: ReturnType<typeof moeLayerForwardRef>, d: number, k: number, label: string): number {
  let compared = 0;
  const scale = want.out.reduce((s, v) => s + Math.abs(v), 0) / Math.max(want.out.length, 1);
  for (let t = 0; t < want.out.length / d; t++) {
    const same = Array.from({ length: k }, (_, j) => gotIdx[t * k + j] === want.idx[t * k + j]).every(Boolean);
    if (!same) continue;
    compared++;
    const w = want.out.subarray(t * d, (t + 1) * d);
    // f32 sums over d and F terms of O(1) values: a relative 3e-5 of the row scale is ample
    expectClose(got.subarray(t * d, (t + 1) * d), w, (i) => 3e-5 * (Math.abs(w[i]) + scale) + 1e-30, `${label} token ${t}`);
  }
  return compared;
}

describe.each(testBackends())('MoeLayer on %s', (_name, make) => {
  for (const dtype of ['f32', 'bf16'] as WeightDtype[]) {
    it.each(CASES)(`forward matches float64 (${dtype}): %s`, async (_label, json, T) => {
      const b = await make();
      const seed = freshSeed();
      const L = randomLayer(json, seed);
      const layer = MoeLayer.load(b, L.config, L.lookup, { dtype });
      const x = randF32(T * L.config.hidden, seed + 99);
      const f = layer.forward(Tensor.from(b, x, [T, L.config.hidden]));
      const want = moeLayerForwardRef(x, dtype === 'bf16' ? roundBf16(L.ref) : L.ref, L.dims(T));
      const got = (await f.out.data()) as Float32Array;
      const n = compareRows(got, await f.idx.data(), want, L.config.hidden, L.config.topk, `seed=${seed}`);
      expect(n).toBeGreaterThan(T * 0.9);
      disposeForward(f, false);
      layer.dispose();
    });

    it.each(CASES)(`decode matches float64 (${dtype}): %s`, async (_label, json) => {
      const b = await make();
      const seed = freshSeed();
      const L = randomLayer(json, seed);
      const layer = MoeLayer.load(b, L.config, L.lookup, { dtype });
      for (const T of [1, 3]) {
        const x = randF32(T * L.config.hidden, seed + T);
        const out = layer.decode(Tensor.from(b, x, [T, L.config.hidden]));
        const want = moeLayerForwardRef(x, dtype === 'bf16' ? roundBf16(L.ref) : L.ref, L.dims(T));
        const f = layer.forward(Tensor.from(b, x, [T, L.config.hidden]));
        compareRows((await out.data()) as Float32Array, await f.idx.data(), want, L.config.hidden, L.config.topk, `decode seed=${seed}`);
        disposeForward(f, false);
      }
      layer.dispose();
    });
  }

  it('decode reads bf16 experts through 16-byte words (d, F multiples of 8)', async () => {
    const b = await make();
    const seed = freshSeed();
    const L = randomLayer({ hidden_size: 64, num_experts: 16, num_experts_per_tok: 4, moe_intermediate_size: 48, num_shared_experts: 1 }, seed);
    const layer = MoeLayer.load(b, L.config, L.lookup, { dtype: 'bf16' });
    const x = randF32(64, seed + 5);
    const out = layer.decode(Tensor.from(b, x, [1, 64]));
    const want = moeLayerForwardRef(x, roundBf16(L.ref), L.dims(1));
    const f = layer.forward(Tensor.from(b, x, [1, 64]));
    expect(compareRows((await out.data()) as Float32Array, await f.idx.data(), want, 64, 4, `seed=${seed}`)).toBeLessThanOrEqual(1);
  });

  it('rejects inputs of the wrong width', async () => {
    const b = await make();
    const L = randomLayer({ hidden_size: 8, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 4 }, 1);
    const layer = MoeLayer.load(b, L.config, L.lookup);
    expect(() => layer.forward(Tensor.from(b, new Float32Array(9), [1, 9]))).toThrow(ShapeError);
    expect(() => MoeLayer.load(b, L.config, (n) => L.lookup(n).subarray(1))).toThrow(/MoE weight mlp\.experts\.0\.gate_proj\.weight: 31 values, expected 32/);
  });
});
