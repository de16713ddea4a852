/** config.json parsing: the golden config, the reference's defaults and quirks, typed errors naming the field. */
import { HsaError } from '@hsa/tensor';
import { describe, expect, it } from 'vitest';
import { layerKinds, parseConfig, retrievalLayerIndex } from './config.js';
import { prepareIds } from './forward.js';
import { parameterCount, parameterSpecs } from './params.js';
import { goldenConfigJson } from './test-utils/golden.js';

const golden = () => goldenConfigJson() as Record<string, unknown>;
const withFields = (patch: Record<string, unknown>, drop: string[] = []) => {
  const j = { ...golden(), ...patch };
  for (const f of drop) delete j[f];
  return j;
};

describe('golden config', () => {
  it('parses with the derived sizes of reference-model.md §2', () => {
    const c = parseConfig(golden());
    expect([c.heads, c.kvHeads, c.headDim, c.layersPerGroup, c.encoderIntermediate]).toEqual([8, 2, 16, 1, 320]);
    expect([c.retrievalHeads, c.retrievalHeadDim, c.hsaSlidingWindow, c.hsaOnly, c.enableSoftmax]).toEqual([2, 32, 40, false, true]);
    expect([c.rmsNormEps, c.layerNormEps, c.tieWordEmbeddings, c.moe]).toEqual([1e-6, 1e-5, false, null]);
  });

  it('has 9 layers, retrieval layers 3 and 6, and 1,526,864 parameters', () => {
    const c = parseConfig(golden());
    expect(layerKinds(c)).toHaveLength(9);
    expect([retrievalLayerIndex(c, 0), retrievalLayerIndex(c, 1)]).toEqual([3, 6]);
    expect(parameterCount(c)).toBe(1_526_864);
  });
});

describe('defaults of the reference code', () => {
  it('hsa_only defaults to true (no SWA in the HSA layer), which rejects hsa_sliding_window', () => {
    expect(() => parseConfig(withFields({}, ['hsa_only']))).toThrow(/hsa_sliding_window/);
    const c = parseConfig(withFields({}, ['hsa_only', 'hsa_sliding_window']));
    expect([c.hsaOnly, c.hsaSlidingWindow]).toEqual([true, null]);
    expect(parameterSpecs(c).some((s) => s.name.includes('layers.4.attn.'))).toBe(false);
  });

  it('stick-breaking fusion, no QK-norm, bypass wiring, tied embeddings, CLS iff an encoder', () => {
    const drop = ['enable_softmax', 'enable_qk_norm', 'reset_hsa_residual', 'tie_word_embeddings', 'enable_enc_cls', 'hidden_act', 'head_dim'];
    const c = parseConfig(withFields({}, drop));
    expect([c.enableSoftmax, c.enableQkNorm, c.resetHsaResidual, c.tieWordEmbeddings, c.enableEncCls]).toEqual([false, false, false, true, true]);
    expect(c.hiddenAct).toBe('silu');
    const names = parameterSpecs(c).map((s) => s.name);
    expect(names).not.toContain('lm_head.weight');
    expect(names).not.toContain('backbone.layers.2.k_rmsnorm.weight');
    expect(parseConfig(withFields({ encoder_layers: 0 }, ['enable_enc_cls'])).enableEncCls).toBe(false);
  });

  it('hsa_rope (ours) defaults to false, adds no parameters and must be a boolean', () => {
    expect(parseConfig(golden()).hsaRope).toBe(false);
    const c = parseConfig(withFields({ hsa_rope: true }));
    expect(c.hsaRope).toBe(true);
    expect(parameterSpecs(c)).toEqual(parameterSpecs(parseConfig(golden())));
    expect(() => parseConfig(withFields({ hsa_rope: 1 }))).toThrow(/hsa_rope: must be true or false/);
  });

  it('MoE fields go to @hsa/moe; MoE names replace mlp.* and _mlp.* after first_k_dense_replace', () => {
    const c = parseConfig(withFields({ num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32, first_k_dense_replace: 1 }));
    expect(c.moe?.experts).toBe(4);
    const names = parameterSpecs(c).map((s) => s.name);
    expect(names).toContain('backbone.layers.0.mlp.gate_proj.weight');
    expect(names).toContain('backbone.layers.1.mlp.experts.3.down_proj.weight');
    expect(names).toContain('backbone.layers.4._mlp.gate.expert_bias');
    expect(names).not.toContain('backbone.layers.4._mlp.gate_proj.weight');
  });
});

const BAD: [string, Record<string, unknown>, string[], string][] = [
  ['KV-head fields differ', { num_key_value_heads: 4 }, [], 'num_key_value_heads'],
  ['head_dim ≠ d/Hq', { head_dim: 32 }, [], 'head_dim'],
  ['heads do not divide d', { hidden_size: 100 }, [], 'num_attention_heads'],
  ['upper layers not divisible by groups', { num_upper_layers: 3 }, [], 'num_upper_layers'],
  ['chunk_size not a multiple of 64', { chunk_size: 96 }, [], 'chunk_size'],
  ['retrieval_dim not a multiple of 64', { retrieval_dim: 96 }, [], 'retrieval_dim'],
  ['hidden_act gelu', { hidden_act: 'gelu' }, [], 'hidden_act'],
  ['pad_token_id null', { pad_token_id: null }, [], 'pad_token_id'],
  ['pad_token_id not an int', { pad_token_id: 1.5 }, [], 'pad_token_id'],
  ['vocab_size missing', {}, ['vocab_size'], 'vocab_size'],
  ['rms_norm_eps a string', { rms_norm_eps: '1e-6' }, [], 'rms_norm_eps'],
  ['linear rope scaling', { rope_scaling: { type: 'linear', factor: 2 } }, [], 'rope_scaling'],
  ['CLS without an encoder', { encoder_layers: 0, enable_enc_cls: true }, [], 'enable_enc_cls'],
  ['hsa_sliding_window with hsa_only', { hsa_only: true }, [], 'hsa_sliding_window'],
  ['MoE k > E', { num_experts: 4, num_experts_per_tok: 8, moe_intermediate_size: 32 }, [], 'num_experts_per_tok'],
];

describe.each(BAD)('bad config: %s', (_, patch, drop, field) => {
  it(`E_BAD_CONFIG naming ${field}`, () => {
    let err: unknown;
    try {
      parseConfig(withFields(patch, drop));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HsaError);
    expect((err as HsaError).code).toBe('E_BAD_CONFIG');
    expect((err as { field: string }).field).toBe(field);
    expect((err as Error).message).toContain(field);
  });
});

it('a non-object config is E_BAD_CONFIG', () => {
  expect(() => parseConfig([1, 2])).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
});

it('pad_token_id outside the vocabulary is accepted until a negative id needs it', () => {
  const c = parseConfig(withFields({ pad_token_id: 9999 }));
  expect(Array.from(prepareIds(c, [5, 7]))).toEqual([5, 7]);
  expect(() => prepareIds(c, [5, -1])).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
  expect(Array.from(prepareIds(parseConfig(golden()), [-1, 4]))).toEqual([0, 4]);
  expect(() => prepareIds(c, [512])).toThrow(/outside \[0, vocab_size = 512\)/);
});

describe('eos_token_id', () => {
  it('is absent → none, one id or a list; ids outside the vocabulary name the field', () => {
    expect(parseConfig(golden()).eosTokenIds).toEqual([]);
    expect(parseConfig(withFields({ eos_token_id: 2 })).eosTokenIds).toEqual([2]);
    expect(parseConfig(withFields({ eos_token_id: [2, 5] })).eosTokenIds).toEqual([2, 5]);
    expect(() => parseConfig(withFields({ eos_token_id: 1e9 }))).toThrow(/eos_token_id/);
    expect(() => parseConfig(withFields({ eos_token_id: ['x'] }))).toThrow(HsaError);
  });
});
