import { HsaModel, parameterSpecs, parseConfig } from '@hsa/model';
import { CpuBackend, SafetensorsFile, type SafetensorsTensorInput, serializeSafetensors } from '@hsa/tensor';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatTokens, maxContext, plan, planner } from './memory.js';

const CONFIG = {
  vocab_size: 64, hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_kv_heads: 2, intermediate_size: 128,
  rms_norm_eps: 1e-6, layer_norm_epsilon: 1e-5, attention_bias: false, sliding_window: 32, hsa_only: false, num_lower_layers: 1,
  num_upper_groups: 1, num_upper_layers: 1, encoder_layers: 1, chunk_size: 64, chunk_topk: 2, retrieval_dim: 64, initializer_range: 0.02, pad_token_id: 0, lmk_token_id: 1,
};

function model(): HsaModel {
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const p of parameterSpecs(parseConfig(CONFIG))) tensors[p.name] = { dtype: 'BF16', shape: p.shape, data: new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(p.kind === 'vector' ? 1 : 0.01) };
  return HsaModel.load(new CpuBackend(), CONFIG, [{ label: 'm', file: SafetensorsFile.parse(serializeSafetensors(tensors)) }]);
}

describe('maxContext', () => {
  it("plans as the loaded model does, from its shape alone", () => {
    const loaded = model();
    const m = planner({ configJson: CONFIG, matrixBytes: 2, maxBindingBytes: loaded.backend.maxBindingBytes });
    for (const n of [64, 4096, 1 << 20]) expect(plan(m, n, 256)).toEqual(loaded.memoryPlan(n, { segment: 256 }));
    loaded.dispose();
  });

  it('is the longest multiple of the chunk size whose plan fits the budget', () => {
    const loaded = model();
    const m = planner({ configJson: CONFIG, matrixBytes: 2, maxBindingBytes: loaded.backend.maxBindingBytes });
    for (const budget of [2 ** 24, 2 ** 28, 2 ** 31]) {
      const n = maxContext(m, budget, 256);
      expect(n % 64).toBe(0);
      expect(plan(m, n, 256).total).toBeLessThanOrEqual(budget);
      expect(plan(m, n + 64, 256).total).toBeGreaterThan(budget);
    }
    expect(maxContext(m, 1, 256)).toBe(0);
    loaded.dispose();
  });
});

describe('formatting', () => {
  it('says sizes and token counts the short way', () => {
    expect([formatBytes(512), formatBytes(3 * 2 ** 20), formatBytes(1.5 * 2 ** 30)]).toEqual(['1 KiB', '3.0 MiB', '1.50 GiB']);
    expect([formatTokens(1 << 20), formatTokens(4096), formatTokens(1000)]).toEqual(['1M', '4K', '1,000']);
  });
});
