/**
 * Incremental decoding (reference-model.md §4) against the full-sequence path. Golden model: a
 * prefill of 200 tokens (not a multiple of S, one segment) then single-token steps to 512 reproduce
 * the golden logits within 1e-4 on the CPU; a shorter run on WebGPU (a single step takes ~1 s on
 * SwiftShader). Random configs (stick-breaking with W_h ≠ W; softmax with pos_decay,
 * mask_slide_window, hsa_rope, …): decode matches the model's own forward for prefill segments
 * shorter and longer than the windows and S.
 */
import { type Backend, CpuBackend, type Tensor } from '@hsa/tensor';
import { testBackends } from '@hsa/tensor/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDecodeState, decodeStep, prefill, upperSpan } from './decode.js';
import { HsaModel } from './model.js';
import { goldenModel, goldenRun, maxAbsDiff } from './test-utils/golden.js';
import { randomCheckpoint, TINY_CONFIG } from './test-utils/random-model.js';

const TOL = 1e-4;
const GPU_MS = 240_000;

/** Logits [n, V] of prefill(ids[0:p]) then single steps for ids[p:n]. */
async function decodeLogits(model: HsaModel, ids: ArrayLike<number>, p: number, n: number, segment?: number): Promise<Float32Array> {
  const state = createDecodeState(model);
  const v = model.config.vocabSize;
  const out = new Float32Array(n * v);
  const take = async (t: Tensor, at: number) => {
    out.set((await t.data()) as Float32Array, at * v);
    t.dispose();
  };
  try {
    await take(await prefill(Array.from(ids).slice(0, p), state, { segment }), 0);
    for (let t = p; t < n; t++) await take(await decodeStep(ids[t], state), t);
  } finally {
    state.dispose();
  }
  return out;
}

async function goldenDecodeError(backend: Backend, p: number, n: number): Promise<number> {
  const model = goldenModel(backend);
  try {
    const got = await decodeLogits(model, goldenRun().int32('input_ids'), p, n);
    const err = maxAbsDiff(got, goldenRun().float32('logits').subarray(0, n * model.config.vocabSize));
    console.info(`${backend.name}: decode (prefill ${p}, steps to ${n}) max abs logit error ${err.toExponential(2)}`);
    return err;
  } finally {
    model.dispose();
  }
}

describe('golden decode', () => {
  it('cpu: prefill 200 + single steps to 512 reproduce the golden logits within 1e-4', async () => {
    expect(await goldenDecodeError(new CpuBackend(), 200, 512)).toBeLessThan(TOL);
  }, 300_000);

  it.each(testBackends().filter(([name]) => name !== 'cpu'))(
    '%s: prefill 120 + steps to 130 (chunk 1 completes in a step, then is retrieved) within 1e-4',
    async (_name, make) => {
      expect(await goldenDecodeError(await make(), 120, 130)).toBeLessThan(TOL);
    },
    GPU_MS,
  );
});

const RANDOM_VARIANTS: [string, Record<string, unknown>][] = [
  ['stick-breaking, own SWA (W_h = 20), QK-norm, untied', { hsa_only: false, hsa_sliding_window: 20, enable_qk_norm: true, tie_word_embeddings: false }],
  ['softmax, pos_decay, softmax1, no encoder, one retrieval head, mask_slide_window', { enable_softmax: true, enable_pos_decay: true, enable_softmax1: true, encoder_layers: 0, singlehead_retrieval: true, mask_slide_window: true, slide_window: 70 }],
  ['MoE FFNs (steps of ≤ 4 tokens take the expert-gather decode path)', { enable_softmax: true, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32, num_shared_experts: 1, first_k_dense_replace: 1 }],
  // chunks encoded in a later segment or step must get absolute key positions, the query its own
  ['hsa_rope (RoPE on the HSA query and memory keys), QK-norm, own SWA', { hsa_rope: true, enable_qk_norm: true, hsa_only: false, hsa_sliding_window: 20 }],
];

describe.each(RANDOM_VARIANTS)('random config: %s', (_, patch) => {
  const configJson = { ...TINY_CONFIG, ...patch };
  const file = randomCheckpoint(configJson, 99);
  const ids = Array.from({ length: 200 }, (_, t) => (t * 53 + 11) % 96);
  let want: Float32Array;
  beforeAll(async () => {
    const model = HsaModel.load(new CpuBackend(), configJson, [file]);
    const full = await model.forward(ids);
    want = (await full.data()) as Float32Array;
    full.dispose();
    model.dispose();
  });

  it.each([1, 7, 30, 64, 150])('prefill of 150 in segments of %i, then steps to 200, matches the full forward within 1e-4', async (segment) => {
    const model = HsaModel.load(new CpuBackend(), configJson, [file]);
    try {
      expect(maxAbsDiff(await decodeLogits(model, ids, 150, 200, segment), want)).toBeLessThan(TOL);
    } finally {
      model.dispose();
    }
  });

  it('the lazy upper decoder (prompt 300 > upper span) gives the eager last logits and the same next steps', async () => {
    const model = HsaModel.load(new CpuBackend(), configJson, [file]);
    const long = Array.from({ length: 306 }, (_, t) => (t * 29 + 3) % 96);
    expect(upperSpan(model.config)).toBeLessThan(300 - 64);
    const run = async (lazy: boolean) => {
      const state = createDecodeState(model);
      const out = [await prefill(long.slice(0, 300), state, { logits: 'last', lazy, segment: 70 })];
      for (let t = 300; t < 306; t++) out.push(await decodeStep(long[t], state));
      state.dispose();
      const rows = await Promise.all(out.map((t) => t.data()));
      for (const t of out) t.dispose();
      return rows.flatMap((r) => Array.from(r as Float32Array));
    };
    expect(maxAbsDiff(await run(true), await run(false))).toBeLessThan(1e-5);
    model.dispose();
  });

  it('rejects a disposed state and a bad id', async () => {
    const model = HsaModel.load(new CpuBackend(), configJson, [file]);
    const state = createDecodeState(model);
    await expect(decodeStep(1000, state)).rejects.toThrow(/outside/);
    state.dispose();
    await expect(decodeStep(1, state)).rejects.toThrow(/disposed/);
    model.dispose();
  });
});
