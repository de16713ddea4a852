import { HsaError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BIAS_UPDATE_RATE, isMoeLayer, MoeConfigError, parseMoeConfig } from './config.js';
import { moeParameterNames } from './params.js';

const BASE = { hidden_size: 2048, num_experts: 64, num_experts_per_tok: 4, moe_intermediate_size: 704 };

describe('parseMoeConfig', () => {
  it('applies the defaults of hsa-spec.md §4', () => {
    const c = parseMoeConfig(BASE);
    expect(c).toMatchObject({ scoreFunction: 'sigmoid', nGroup: 1, topkGroup: 1, normTopkProb: true, routedScalingFactor: 1, sharedExperts: 0 });
    expect(c.biasUpdateRate).toBe(DEFAULT_BIAS_UPDATE_RATE);
    expect(c.auxLossAlpha).toBe(0);
  });

  it.each([
    [{ num_experts_per_tok: 65 }, 'num_experts_per_tok', /k = 65 exceeds num_experts = 64/],
    [{ n_group: 5 }, 'n_group', /5 groups do not divide num_experts = 64/],
    [{ n_group: 8, topk_group: 9 }, 'topk_group', /exceeds n_group/],
    [{ n_group: 32, topk_group: 1 }, 'topk_group', /cannot hold k = 4/],
    [{ score_function: 'relu' }, 'score_function', /"sigmoid" or "softmax"/],
    [{ num_experts: 300 }, 'num_experts', /exceed the supported 256/],
    [{ num_experts: 0 }, 'num_experts', /integer ≥ 1/],
    [{ moe_intermediate_size: undefined }, 'moe_intermediate_size', /is required/],
    [{ norm_topk_prob: 'yes' }, 'norm_topk_prob', /true or false/],
    [{ routed_scaling_factor: Number.NaN }, 'routed_scaling_factor', /finite/],
  ])('%o is an E_BAD_CONFIG error naming %s', (extra, field, message) => {
    let err: unknown;
    try {
      parseMoeConfig({ ...BASE, ...extra });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MoeConfigError);
    expect(err).toBeInstanceOf(HsaError);
    expect((err as MoeConfigError).code).toBe('E_BAD_CONFIG');
    expect((err as MoeConfigError).field).toBe(field);
    expect((err as Error).message).toMatch(new RegExp(`MoE config: ${field}: `));
    expect((err as Error).message).toMatch(message);
  });

  it('keeps the first first_k_dense_replace FFNs dense', () => {
    const c = parseMoeConfig({ ...BASE, first_k_dense_replace: 1 });
    expect([0, 1, 2].map((i) => isMoeLayer(c, i))).toEqual([false, true, true]);
  });

  it('names parameters as hsa-spec.md §4', () => {
    const n = moeParameterNames(parseMoeConfig({ ...BASE, num_shared_experts: 1 }), 'model.layers.3.');
    expect(n.gate).toBe('model.layers.3.mlp.gate.weight');
    expect(n.bias).toBe('model.layers.3.mlp.gate.expert_bias');
    expect(n.experts[63].down).toBe('model.layers.3.mlp.experts.63.down_proj.weight');
    expect(n.shared?.up).toBe('model.layers.3.mlp.shared_experts.up_proj.weight');
  });
});
