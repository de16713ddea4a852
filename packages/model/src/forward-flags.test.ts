/**
 * The forward under flag combinations the golden run leaves off (stick-breaking, hsa_only, the
 * sequential wiring, no encoder, mean landmarks, enc_prenorm, lmk norm, pos_decay, softmax-off-by-one,
 * attention biases, one retrieval head, mask_slide_window, skip_hsa, MoE FFNs, tied embeddings; our
 * hsa_rope), on
 * random tiny models: causal (a prefix's logits are the full run's first rows, also for lengths that
 * are not a multiple of S), negative ids read as pad_token_id, and CPU and WebGPU agree.
 */
import type { Backend } from '@hsa/tensor';
import { CpuBackend } from '@hsa/tensor';
import { testBackends } from '@hsa/tensor/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { HsaModel } from './model.js';
import { maxAbsDiff } from './test-utils/golden.js';
import { randomCheckpoint, TINY_CONFIG } from './test-utils/random-model.js';

const VARIANTS: [string, Record<string, unknown>][] = [
  ['reference defaults (stick-breaking, hsa_only, tied, no QK-norm)', {}],
  [
    'sequential wiring, enc_prenorm, lmk norm, pos_decay, softmax1, biases, QK-norm',
    { hsa_only: false, reset_hsa_residual: true, enc_prenorm: true, enable_lmk_norm: true, enable_pos_decay: true, enable_softmax: true, enable_softmax1: true, attention_bias: true, enable_qk_norm: true, tie_word_embeddings: false },
  ],
  ['no encoder (mean landmarks), one retrieval head, mask_slide_window', { encoder_layers: 0, singlehead_retrieval: true, mask_slide_window: true, slide_window: 70, hsa_only: false, hsa_sliding_window: 20 }],
  ['MoE FFNs after the first, skip_hsa', { num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32, num_shared_experts: 1, first_k_dense_replace: 1, skip_hsa: true, hsa_only: false }],
  ['hsa_rope (ours: RoPE on the HSA query and memory keys), QK-norm, own SWA', { hsa_rope: true, enable_qk_norm: true, hsa_only: false }],
];

const L = 260;
/** SwiftShader compiles every pipeline on first use and CI runs all packages' tests at once. */
const GPU_MS = 240_000;
const ids = Array.from({ length: L }, (_, t) => (t * 37 + 5) % 96);

describe.each(VARIANTS)('%s', (_, patch) => {
  const configJson = { ...TINY_CONFIG, ...patch };
  const file = randomCheckpoint(configJson, 1234);
  const run = async (backend: Backend, input: number[]) => {
    const m = HsaModel.load(backend, configJson, [file]);
    const out = await m.forward(input);
    const data = (await out.data()) as Float32Array;
    out.dispose();
    m.dispose();
    return data;
  };
  let cpu: Float32Array;
  beforeAll(async () => {
    cpu = await run(new CpuBackend(), ids);
  });

  it('is causal: a prefix (not a multiple of S) gives the first rows; negative ids are pad_token_id', async () => {
    const n = 199;
    const prefix = ids.slice(0, n);
    prefix[17] = -1;
    prefix[18] = TINY_CONFIG.pad_token_id;
    const a = await run(new CpuBackend(), prefix);
    const withPad = ids.slice(0, n);
    withPad[17] = withPad[18] = TINY_CONFIG.pad_token_id;
    expect(maxAbsDiff(a, await run(new CpuBackend(), withPad))).toBe(0);
    expect(Array.from(a).every(Number.isFinite)).toBe(true);
    // rows before the changed token are unaffected
    expect(maxAbsDiff(a.subarray(0, 17 * 96), cpu.subarray(0, 17 * 96))).toBeLessThan(1e-5);
    const plain = await run(new CpuBackend(), ids.slice(0, n));
    expect(maxAbsDiff(plain, cpu.subarray(0, n * 96))).toBeLessThan(1e-5);
  });

  // 200 tokens: 3 chunks, so top-2 is sparse for the last 8 tokens; shorter than L to keep SwiftShader fast
  it.each(testBackends().filter(([name]) => name !== 'cpu'))(
    'agrees with the CPU on %s within 1e-4',
    async (_name, make) => {
      const got = await run(await make(), ids.slice(0, 200));
      expect(maxAbsDiff(got, cpu.subarray(0, 200 * 96))).toBeLessThan(1e-4);
    },
    GPU_MS,
  );
});
