/**
 * Tiny models with seeded random weights for flag combinations the golden run does not cover: every
 * parameter the config implies, drawn like the golden weights (matrices ±0.17 uniform ≈ N(0, 0.1²),
 * norm weights 1 ± 0.17, biases ±0.09), so every tensor influences the logits.
 */
import { type SafetensorsTensorInput, SafetensorsFile, serializeSafetensors } from '@hsa/tensor';
import { rng } from '@hsa/tensor/test-utils';
import { parameterSpecs } from '../params.js';
import { parseConfig } from '../config.js';
import type { WeightFile } from '../weights.js';

/** The base config of the flag tests: 2 groups, S = 64, k = 2, GQA 4:2. */
export const TINY_CONFIG = {
  vocab_size: 96,
  hidden_size: 64,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_kv_heads: 2,
  intermediate_size: 96,
  rms_norm_eps: 1e-6,
  layer_norm_epsilon: 1e-5,
  attention_bias: false,
  sliding_window: 40,
  num_lower_layers: 1,
  num_upper_groups: 2,
  num_upper_layers: 2,
  encoder_layers: 1,
  chunk_size: 64,
  chunk_topk: 2,
  retrieval_dim: 64,
  initializer_range: 0.1,
  pad_token_id: 3,
  lmk_token_id: 1,
};

/**
 * Random weights for the config, from a seed (uniform: norms 1 ± 0.17, biases ± 0.09, the rest
 * ± 0.17); vectors F32, matrices in `matrixDtype` (values stay f32; the file packs them).
 */
export function randomTensors(configJson: unknown, seed: number, matrixDtype: 'F32' | 'BF16' = 'F32'): Record<string, SafetensorsTensorInput> {
  const r = rng(seed);
  const u = (a: number) => (2 * r() - 1) * a;
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const p of parameterSpecs(parseConfig(configJson))) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const norm = p.kind === 'vector' && p.name.endsWith('.weight');
    const small = p.name.endsWith('.bias') || p.name.endsWith('expert_bias') || p.name.endsWith('pos_decay');
    const data = Float32Array.from({ length: n }, () => (norm ? 1 + u(0.17) : small ? u(0.09) : u(0.17)));
    tensors[p.name] = { dtype: p.kind === 'vector' ? 'F32' : matrixDtype, shape: p.shape, data };
  }
  return tensors;
}

/** A checkpoint (one in-memory F32 file) for the config, from a seed. */
export function randomCheckpoint(configJson: unknown, seed: number): WeightFile {
  return { label: `random-${seed}.safetensors`, file: SafetensorsFile.parse(serializeSafetensors(randomTensors(configJson, seed))) };
}
