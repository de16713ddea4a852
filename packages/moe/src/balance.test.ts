import { Tensor } from '@hsa/tensor';
import { freshSeed, randF32, testBackends } from '@hsa/tensor/test-utils';
import { describe, expect, it } from 'vitest';
import { expertLoad, LoadStats, updateExpertBias } from './balance.js';
import { disposeForward, MoeLayer } from './layer.js';
import { randomLayer } from './test-utils/layer.js';

describe('updateExpertBias', () => {
  it('moves each bias by ±rate towards the mean load (0 at the mean)', () => {
    const b = updateExpertBias([0, 0.5, -1, 0], [10, 2, 6, 6], 0.1);
    expect(Array.from(b)).toEqual([-0.1, 0.6, -1, 0].map(Math.fround));
  });
});

describe.each(testBackends())('auxiliary-loss-free balancing on %s', (_name, make) => {
  it('drives a router that sends everything to two experts towards balance', async () => {
    const b = await make();
    const seed = freshSeed();
    const L = randomLayer({ hidden_size: 16, num_experts: 8, num_experts_per_tok: 2, moe_intermediate_size: 4 }, seed);
    const gate = L.named.get('mlp.gate.weight')!;
    for (let c = 0; c < 32; c++) gate[c] = 0.5; // experts 0 and 1: logit ≈ 0.5·Σx ≈ +4 for x of mean 1/2
    const layer = MoeLayer.load(b, L.config, L.lookup);
    const imbalance: number[] = [];
    const hot: number[] = []; // share of picks on experts 0 and 1
    for (let step = 0; step < 60; step++) {
      const x = randF32(64 * 16, seed + step, 0, 1);
      const f = layer.forward(Tensor.from(b, x, [64, 16]));
      const stats = new LoadStats(8);
      stats.add(await expertLoad(f.offsets));
      imbalance.push(stats.imbalance);
      hot.push((stats.load[0] + stats.load[1]) / 128);
      layer.setBias(updateExpertBias(layer.bias, stats.load, 0.02));
      disposeForward(f, false);
    }
    const late = (v: number[]) => v.slice(-20).reduce((a, u) => a + u, 0) / 20;
    const trace = `seed=${seed} ${imbalance.map((v) => v.toFixed(2)).join(' ')}`;
    expect(imbalance[0], trace).toBeGreaterThan(3.5); // 128 picks over 8 experts, all on two: 4× the mean
    expect(hot[0], trace).toBeGreaterThan(0.9);
    // balanced is 2/8 of the picks; the sign update then hovers around it (±rate steps, 128 picks a step)
    expect(late(hot), trace).toBeLessThan(0.4);
    expect(late(imbalance), trace).toBeLessThan(0.6 * imbalance[0]);
  });
});
