/**
 * Gradients of the training loss: in float64 (CPU references), the analytic gradient of every
 * parameter (embedding, SWA projections and norms, CLS, encoder weights and biases, proj_k/proj_v,
 * k_rmsnorm, lmk_ln, retrieval ln and lmk norms, the HSA layer's own SWA, q/o projections and norms,
 * MLPs or MoE router, stacked experts and shared expert, norm_f, lm_head) matches central differences at its largest entry (within 1e-6 relative), also
 * through hsa_rope's rotated HSA query and memory keys; then each backend's f32 gradients match the float64 ones.
 */
import type { Tensor } from '@hsa/tensor';
import { expectClose, testBackends } from '@hsa/tensor/test-utils';
import { describe, expect, it } from 'vitest';
import type { TrainForwardOptions } from './forward.js';
import { Float64Backend, finiteDiff, GRAD_CONFIG, gradBatch, gradModel, lossGrads, readF64, topElements } from './test-utils/grad.js';

const CASES: [string, Record<string, unknown>, TrainForwardOptions][] = [
  [
    'softmax, QK-norm, biases, lmk norm, enc_prenorm, own SWA, sequential wiring, softmax1, untied; checkpointed layers',
    {
      enable_softmax: true,
      enable_qk_norm: true,
      attention_bias: true,
      enable_lmk_norm: true,
      enc_prenorm: true,
      hsa_only: false,
      hsa_sliding_window: 12,
      reset_hsa_residual: true,
      enable_softmax1: true,
      tie_word_embeddings: false,
    },
    { checkpointLayers: true },
  ],
  ['stick-breaking, bypass wiring, mean landmarks, tied; window 8, top-k all', { hsa_only: false, enable_enc_cls: false }, { slidingWindow: 8, chunkTopk: 'all' }],
  ['hsa_rope (ag.rope on the HSA query and memory keys), QK-norm, stick-breaking', { hsa_rope: true, enable_qk_norm: true, hsa_only: false }, {}],
  [
    'MoE FFNs after the first (stacked experts, shared expert, sequence balance loss)',
    { num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 16, num_shared_experts: 1, first_k_dense_replace: 1, aux_loss_alpha: 0.01, enable_softmax: true, hsa_only: false },
    {},
  ],
];

/** Parameters the loss does not differentiate: the MoE selection bias (balancing rule) and pos_decay. */
const frozen = (name: string) => name.endsWith('expert_bias') || name.endsWith('pos_decay');

const f64 = async (t: Tensor) => readF64(t);
const SEED = 5;

describe('training gradients in float64 match central differences', () => {
  it.each(CASES)('%s', async (_, patch, options) => {
    const configJson = { ...GRAD_CONFIG, ...patch };
    const model = gradModel(new Float64Backend(), configJson, SEED);
    const batch = gradBatch(SEED);
    const grads = await lossGrads(model, batch, options, f64);
    let worst = 0;
    for (const p of model.params) {
      const g = grads.get(p.name);
      if (frozen(p.name)) {
        expect(g, `${p.name} gets no gradient`).toBeUndefined();
        continue;
      }
      expect(g, `${p.name} has a gradient`).toBeDefined();
      expect(Math.max(...g!.map(Math.abs)), `${p.name} gradient is not all zero`).toBeGreaterThan(1e-8);
      const els = topElements(g!, 1, false);
      const fd = finiteDiff(model, batch, options, p.name, els);
      worst = Math.max(worst, ...fd.map((f, i) => Math.abs(f - g![els[i]]) / (1e-9 + 1e-6 * Math.abs(f))));
      expectClose(
        els.map((e) => g![e]),
        fd,
        (i) => 1e-9 + 1e-6 * Math.abs(fd[i]),
        p.name,
      );
    }
    console.info(`worst |analytic − central difference| / tolerance: ${worst.toExponential(2)} over ${model.params.length} parameters`);
    model.dispose();
  }, 300_000);
});

describe.each(testBackends())('training gradients on %s (f32) match float64', (name, make) => {
  it.each(CASES)(
    '%s',
    async (_, patch, options) => {
      const configJson = { ...GRAD_CONFIG, ...patch };
      const batch = gradBatch(SEED + 1);
      const oracle = gradModel(new Float64Backend(), configJson, SEED);
      const want = await lossGrads(oracle, batch, options, f64);
      oracle.dispose();
      const model = gradModel(await make(), configJson, SEED);
      const got = await lossGrads(model, batch, options, async (t) => Float64Array.from((await t.data()) as Float32Array));
      let worst = 0;
      for (const [n, w] of want) {
        const scale = Math.max(...w.map(Math.abs));
        const g = got.get(n);
        expect(g, `${name}: ${n} has a gradient`).toBeDefined();
        // f32 through ~10 layers of reductions: relative to the tensor's largest entry (entries cancel)
        expectClose(g!, w, 5e-5 * scale + 1e-8, `${name}: ${n}`);
        worst = Math.max(worst, ...g!.map((v, i) => Math.abs(v - w[i]) / scale));
      }
      console.info(`${name}: worst gradient error relative to the tensor's max ${worst.toExponential(2)}`);
      model.dispose();
    },
    240_000,
  );
});

