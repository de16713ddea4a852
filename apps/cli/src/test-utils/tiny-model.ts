/**
 * A tiny random HSA model directory for the command tests: config.json (S = 64, one group, window
 * 16), model.safetensors (seeded normal weights) and tokenizer.json (a byte-level BPE of 300 ids
 * trained here on public-domain-style text).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parameterSpecs, parseConfig } from '@hsa/model';
import { Rng, type SafetensorsTensorInput, serializeSafetensors } from '@hsa/tensor';
import { trainBpe } from '@hsa/tokenizer';

const TEXT = 'the quick brown fox jumps over the lazy dog and the cat sat on the mat while the dog slept. '.repeat(20);

export const TINY_CONFIG = {
  vocab_size: 300, hidden_size: 32, num_attention_heads: 2, num_key_value_heads: 1, num_kv_heads: 1, intermediate_size: 48,
  rms_norm_eps: 1e-6, layer_norm_epsilon: 1e-5, attention_bias: false, sliding_window: 16, num_lower_layers: 1,
  num_upper_groups: 1, num_upper_layers: 1, encoder_layers: 1, chunk_size: 64, chunk_topk: 2, retrieval_dim: 64,
  initializer_range: 0.1, pad_token_id: 0, lmk_token_id: 1, enable_softmax: true,
};

export const tinyTokenizerJson = (): Record<string, unknown> => trainBpe([TEXT], { vocabSize: 300 });

export function tinyTensors(seed = 5): Record<string, SafetensorsTensorInput> {
  const rng = new Rng(seed);
  return Object.fromEntries(
    parameterSpecs(parseConfig(TINY_CONFIG)).map((p) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      return [p.name, { dtype: 'F32' as const, shape: p.shape, data: Float32Array.from({ length: n }, () => (p.kind === 'vector' ? 1 : 0.3 * rng.normal())) }];
    }),
  );
}

/** A fresh directory with config.json, model.safetensors and (unless `tokenizer` is false) tokenizer.json. */
export function tinyModelDir(options: { tokenizer?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'hsa-tiny-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(TINY_CONFIG));
  writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(tinyTensors()));
  if (options.tokenizer !== false) writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  return dir;
}
