/**
 * The differentiable forward gives the inference forward's logits with the same weights: the golden
 * model (and the golden logits) within 1e-4, random tiny models under flag combinations, and the
 * stage overrides (window, top-k) equal the inference forward of the config with those fields.
 */
import { readFileSync } from 'node:fs';
import { type Backend, backward, clearTape, CpuBackend, SafetensorsFile, type Tensor } from '@hsa/tensor';
import { testBackends } from '@hsa/tensor/test-utils';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { HsaModel } from '../model.js';
import { goldenConfigJson, goldenPath, goldenRun, maxAbsDiff } from '../test-utils/golden.js';
import { randomCheckpoint, TINY_CONFIG } from '../test-utils/random-model.js';
import type { WeightFile } from '../weights.js';
import type { TrainForwardOptions, TrainSequence } from './forward.js';
import { GRAD_CONFIG, gradBatch, gradModel, lossGrads } from './test-utils/grad.js';
import { TrainableHsaModel } from './trainable.js';

const VARIANTS: [string, Record<string, unknown>][] = [
  ['reference defaults (stick-breaking, hsa_only, tied, no QK-norm)', {}],
  [
    'sequential wiring, enc_prenorm, lmk norm, pos_decay, softmax1, biases, QK-norm',
    { hsa_only: false, reset_hsa_residual: true, enc_prenorm: true, enable_lmk_norm: true, enable_pos_decay: true, enable_softmax: true, enable_softmax1: true, attention_bias: true, enable_qk_norm: true, tie_word_embeddings: false },
  ],
  ['no encoder (mean landmarks), one retrieval head, mask_slide_window', { encoder_layers: 0, singlehead_retrieval: true, mask_slide_window: true, slide_window: 70, hsa_only: false, hsa_sliding_window: 20 }],
  ['skip_hsa, mean landmarks with an encoder', { skip_hsa: true, hsa_only: false, enable_enc_cls: false }],
  ['MoE FFNs after the first (one shared expert), own SWA', { num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32, num_shared_experts: 1, first_k_dense_replace: 1, hsa_only: false }],
  ['hsa_rope (RoPE on the HSA query and memory keys), QK-norm, softmax', { hsa_rope: true, enable_qk_norm: true, enable_softmax: true }],
];

/** 4 chunks: from t = 192 three are visible, so top-2 is sparse. */
const L = 256;
const GPU_MS = 240_000;
const ids = Array.from({ length: L }, (_, t) => (t * 37 + 5) % 96);

async function inferenceLogits(backend: Backend, configJson: unknown, file: WeightFile, input: ArrayLike<number>): Promise<Float32Array> {
  const m = HsaModel.load(backend, configJson, [file]);
  const out = await m.forward(input);
  const data = (await out.data()) as Float32Array;
  out.dispose();
  m.dispose();
  return data;
}

async function trainedLogits(backend: Backend, configJson: unknown, file: WeightFile, input: ArrayLike<number>, o: TrainForwardOptions = {}): Promise<Float32Array> {
  const m = TrainableHsaModel.fromFiles(backend, parseConfig(configJson), [file]);
  const out = m.logits(input, o);
  const data = (await out.data()) as Float32Array;
  out.dispose();
  clearTape();
  m.dispose();
  return data;
}

describe.each(testBackends())('training forward on %s', (name, make) => {
  it(
    'golden model: the golden logits within 1e-4',
    async () => {
      const backend = await make();
      const label = goldenPath('model.safetensors');
      const file = { label, file: SafetensorsFile.parse(readFileSync(label)) };
      const got = await trainedLogits(backend, goldenConfigJson(), file, goldenRun().int32('input_ids'));
      const err = maxAbsDiff(got, goldenRun().float32('logits'));
      console.info(`${name}: golden logits max abs error ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-4);
    },
    GPU_MS,
  );

  it.each(VARIANTS)(
    'equals the inference forward: %s',
    async (_, patch) => {
      const backend = await make();
      const configJson = { ...TINY_CONFIG, ...patch };
      const file = randomCheckpoint(configJson, 99);
      const want = await inferenceLogits(backend, configJson, file, ids);
      expect(maxAbsDiff(await trainedLogits(backend, configJson, file, ids), want)).toBeLessThan(1e-5);
    },
    GPU_MS,
  );

  it(
    'any length: 199 tokens (3 complete chunks and a partial one) equal the inference forward',
    async () => {
      const backend = await make();
      const configJson = { ...TINY_CONFIG, hsa_only: false, enable_softmax: true };
      const file = randomCheckpoint(configJson, 8);
      const input = ids.slice(0, 199);
      expect(maxAbsDiff(await trainedLogits(backend, configJson, file, input), await inferenceLogits(backend, configJson, file, input))).toBeLessThan(1e-5);
    },
    GPU_MS,
  );

  it(
    'stage overrides equal the config with those fields: window 20, hsa window 10, top-k all',
    async () => {
      const backend = await make();
      const configJson = { ...TINY_CONFIG, hsa_only: false, enable_softmax: true };
      const file = randomCheckpoint(configJson, 7);
      const patched = { ...configJson, sliding_window: 20, hsa_sliding_window: 10, chunk_topk: 64 };
      const want = await inferenceLogits(backend, patched, file, ids);
      const got = await trainedLogits(backend, configJson, file, ids, { slidingWindow: 20, hsaSlidingWindow: 10, chunkTopk: 'all' });
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    },
    GPU_MS,
  );
});

describe('training loss on the CPU', () => {
  const configJson = { ...GRAD_CONFIG, enable_softmax: true, hsa_only: false };
  const f32 = async (t: Tensor) => Float64Array.from((await t.data()) as Float32Array);

  it('with checkpointed layers: the same loss and bit-identical gradients', async () => {
    const m = gradModel(new CpuBackend(), configJson, 21);
    const batch = gradBatch(22);
    const plain = await lossGrads(m, batch, {}, f32);
    const ckpt = await lossGrads(m, batch, { checkpointLayers: true }, f32);
    expect([...ckpt.keys()]).toEqual([...plain.keys()]);
    for (const [n, g] of plain) expect(ckpt.get(n), n).toEqual(g);
    m.dispose();
  });

  it('of a batch: the mean over all valid targets (each sequence weighted by its count)', async () => {
    const m = gradModel(new CpuBackend(), configJson, 23);
    const a = gradBatch(1);
    const b = { ids: gradBatch(2).ids, targets: Array.from(gradBatch(2).targets, (t, i) => (i < 150 ? -100 : t)) };
    const value = async (x: Parameters<typeof m.loss>[0]) => {
      const l = m.loss(x);
      const v = ((await l.data()) as Float32Array)[0];
      l.dispose();
      clearTape();
      return v;
    };
    const count = (q: typeof a) => Array.from(q.targets).filter((t) => t >= 0).length;
    const [la, lb, lab] = [await value(a), await value(b), await value([a, b])];
    expect(lab).toBeCloseTo((la * count(a) + lb * count(b)) / (count(a) + count(b)), 5);
    expect(await value({ ids: a.ids, targets: Array.from(a.targets, () => -100) })).toBe(0);
    // with weights: Σ w·mean / Σ w (missing weight = 1; a sequence without valid targets drops out)
    expect(await value([{ ...a, weight: 3 }, b])).toBeCloseTo((3 * la + lb) / 4, 5);
    expect(await value([a, { ...b, weight: 0.5 }])).toBeCloseTo((la + 0.5 * lb) / 1.5, 5);
    const none = { ids: a.ids, targets: Array.from(a.targets, () => -100), weight: 5 };
    expect(await value([none, { ...b, weight: 2 }])).toBeCloseTo(lb, 5);
    expect(() => m.loss([{ ...a, weight: -1 }, b])).toThrow(/weight/);
    m.dispose();
  });
});

const PACK_VARIANTS: [string, Record<string, unknown>, TrainForwardOptions][] = [
  ['softmax fusion, own SWA, top-k all', { enable_softmax: true, hsa_only: false, enable_qk_norm: true }, { chunkTopk: 'all' }],
  ['hsa_rope, stick-breaking, top-2, window 40', { hsa_rope: true, hsa_only: false, sliding_window: 40 }, {}],
  ['mask_slide_window, one retrieval head', { mask_slide_window: true, slide_window: 70, singlehead_retrieval: true, enable_softmax: true }, {}],
  // recomputed layers read the packed positions again in the backward pass
  ['hsa_rope with checkpointed layers', { hsa_rope: true, hsa_only: false, enable_softmax: true }, { checkpointLayers: true }],
];

describe.each(testBackends())('packed training batch on %s', (_name, make) => {
  it.each(PACK_VARIANTS)(
    'the loss and gradients of one packed forward equal one forward per sequence: %s',
    async (_, patch, o) => {
      const backend = await make();
      const m = gradModel(backend, { ...GRAD_CONFIG, ...patch }, 31);
      // three 192-token sequences (3 chunks each), one weighted, one with few valid targets
      const few = gradBatch(3);
      const batch: TrainSequence[] = [{ ...gradBatch(1), weight: 2 }, gradBatch(2), { ids: few.ids, targets: Array.from(few.targets, (t, i) => (i < 170 ? -100 : t)) }];
      const run = async (pack: boolean) => {
        const loss = m.loss(batch, { ...o, pack });
        const v = ((await loss.data()) as Float32Array)[0];
        backward(loss);
        loss.dispose();
        const grads = new Map<string, Float32Array>();
        for (const p of m.params) {
          if (p.grad) grads.set(p.name, Float32Array.from((await p.grad.data()) as Float32Array));
          p.zeroGrad();
        }
        clearTape();
        return { v, grads };
      };
      const one = await run(false);
      const packed = await run(true);
      expect(Math.abs(packed.v - one.v)).toBeLessThan(1e-5 * Math.abs(one.v));
      expect([...packed.grads.keys()]).toEqual([...one.grads.keys()]);
      for (const [n, g] of one.grads) {
        const scale = g.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
        expect(maxAbsDiff(packed.grads.get(n) as Float32Array, g), n).toBeLessThanOrEqual(1e-4 * scale + 1e-7);
      }
      m.dispose();
    },
    GPU_MS,
  );
});
