// One token, four experts, worked by hand. x = [1, 0], so logits r_e = G[e, 0] = [0, ln 3, −ln 3, ln 3]:
//   sigmoid p = [1/2, 3/4, 1/4, 3/4]; bias b = [0.3, 0, 0.6, −0.1] → keys p + b = [0.8, 0.75, 0.85, 0.65].
// Every expert has F = 1 with gate ln 3 (silu(ln 3) = (3/4)·ln 3), up e + 1 and down [1, −1], so
// y_e = (3/4)·ln 3·(e + 1)·[1, −1] and out = (3/4)·ln 3·Σ_j w_j·(idx_j + 1)·[1, −1].
import { Tensor } from '@hsa/tensor';
import { expectClose, testBackends } from '@hsa/tensor/test-utils';
import { describe, expect, it } from 'vitest';
import { type MoeConfigJson, parseMoeConfig } from './config.js';
import { MoeLayer } from './layer.js';
import { moeParameterNames } from './params.js';

const L3 = Math.log(3);
const BIAS = [0.3, 0, 0.6, -0.1];

function lookup(bias: number[]) {
  const names = moeParameterNames(parseMoeConfig(BASE));
  const m = new Map<string, number[]>([
    [names.gate, [0, 5, L3, 5, -L3, 5, L3, 5]],
    [names.bias, bias],
  ]);
  names.experts.forEach((x, e) => {
    m.set(x.gate, [L3, 7]);
    m.set(x.up, [e + 1, -3]);
    m.set(x.down, [1, -1]);
  });
  return (n: string) => m.get(n)!;
}

const BASE: MoeConfigJson = { hidden_size: 2, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 1, routed_scaling_factor: 2 };

// [case, config, bias, expected idx, expected weights]
const CASES: [string, Partial<MoeConfigJson>, number[], number[], number[]][] = [
  // the bias changes the choice (2 and 0 instead of 1 and 3) but not the weights: p = 1/4, 1/2 → /(3/4) → ×2
  ['bias picks, p weighs', {}, BIAS, [2, 0], [2 / 3, 4 / 3]],
  // no bias: a tie at 3/4 between experts 1 and 3 goes to the lower index first
  ['tie to the lower index', {}, [0, 0, 0, 0], [1, 3], [1, 1]],
  // no normalization, scale 1: the raw selected p
  ['raw scores', { norm_topk_prob: false, routed_scaling_factor: 1 }, BIAS, [2, 0], [0.25, 0.5]],
  // softmax p = [3, 9, 1, 9]/22, keys [.436, .409, .645, .309] → 2, 0; p 1/22, 3/22 → [1/4, 3/4]·2
  ['softmax scores', { score_function: 'softmax' }, BIAS, [2, 0], [0.5, 1.5]],
  // groups {0,1}: 0.8 + 0.75 = 1.55 beat {2,3}: 0.85 + 0.65 = 1.5, so expert 2 cannot compete
  ['group-limited', { n_group: 2, topk_group: 1 }, BIAS, [0, 1], [0.8, 1.2]],
];

describe.each(testBackends())('MoE semantics by hand on %s', (_name, make) => {
  it.each(CASES)('%s', async (_label, extra, bias, idx, weights) => {
    const b = await make();
    const layer = MoeLayer.load(b, parseMoeConfig({ ...BASE, ...extra }), lookup(bias));
    const x = Tensor.from(b, [1, 0], [1, 2]);
    const f = layer.forward(x);
    expect(Array.from(await f.idx.data())).toEqual(idx);
    expectClose(await f.weights.data(), weights, 1e-6, 'weights');
    const s = 0.75 * L3 * weights.reduce((acc, w, j) => acc + w * (idx[j] + 1), 0);
    expectClose(await f.out.data(), [s, -s], 1e-5, 'out');
    expectClose(await layer.decode(x).data(), [s, -s], 1e-5, 'decode');
  });
});
