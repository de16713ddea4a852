/**
 * TrainableHsaModel: the reference initializer (names, shapes, norms 1, biases 0, N(0, r²) matrices,
 * seeded), the weight-decay groups, typed errors for what cannot be trained and for bad overrides, and a trained model
 * saved as safetensors loading into HsaModel with the same logits on every backend.
 */
import { expertLoad } from '@hsa/moe';
import { AdamW, type Backend, backward, clearTape, CpuBackend, SafetensorsFile, type Tensor } from '@hsa/tensor';
import { testBackends } from '@hsa/tensor/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { HsaModel } from '../model.js';
import { parameterSpecs } from '../params.js';
import { maxAbsDiff } from '../test-utils/golden.js';
import { TINY_CONFIG } from '../test-utils/random-model.js';
import { GRAD_CONFIG, gradBatch } from './test-utils/grad.js';
import { TrainableHsaModel } from './trainable.js';

const MOE = { num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 16, num_shared_experts: 1, first_k_dense_replace: 1 };
const FLAGS = { ...TINY_CONFIG, attention_bias: true, enable_pos_decay: true, enable_lmk_norm: true, enable_qk_norm: true, hsa_only: false, tie_word_embeddings: false, initializer_range: 0.05 };

async function values(m: TrainableHsaModel, name: string): Promise<Float32Array> {
  return (await m.value(name).data()) as Float32Array;
}

describe('TrainableHsaModel.init', () => {
  const config = parseConfig(FLAGS);

  it('holds every parameter of the config, in state-dict order, with its shape', () => {
    const m = TrainableHsaModel.init(new CpuBackend(), config, { seed: 1 });
    expect(m.params.map((p) => [p.name, p.value.shape])).toEqual(parameterSpecs(config).map((s) => [s.name, s.shape]));
    m.dispose();
  });

  it('follows the reference init: norms 1, biases and pos_decay 0, matrices and cls_emb N(0, r²); seeded', async () => {
    const m = TrainableHsaModel.init(new CpuBackend(), config, { seed: 1 });
    for (const p of m.params) {
      const v = await values(m, p.name);
      if (p.name.endsWith('.bias') || p.name.endsWith('pos_decay')) expect(v.every((x) => x === 0), p.name).toBe(true);
      else if (p.value.rank === 1) expect(v.every((x) => x === 1), p.name).toBe(true);
    }
    const w = await values(m, 'backbone.embeddings.weight');
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.005);
    expect(std).toBeCloseTo(0.05, 2);
    const again = TrainableHsaModel.init(new CpuBackend(), config, { seed: 1 });
    const other = TrainableHsaModel.init(new CpuBackend(), config, { seed: 2 });
    const name = 'backbone.layers.1.encoder.layers.0.self_attn.q_proj.weight';
    expect(await values(again, name)).toEqual(await values(m, name));
    expect(maxAbsDiff(await values(other, name), await values(m, name))).toBeGreaterThan(0.01);
    for (const x of [m, again, other]) x.dispose();
  });

  it('pos_decay: the forward reads a host copy, refreshed by syncScalars after a direct write', async () => {
    const m = TrainableHsaModel.init(new CpuBackend(), config);
    const name = 'backbone.layers.2.pos_decay';
    expect(m.scalar(name)).toBe(0);
    m.backend.write(m.value(name).storage, new Float32Array([0.25]));
    await m.syncScalars();
    expect(m.scalar(name)).toBe(0.25);
    m.dispose();
  });

  it('puts norms, biases and pos_decay in the no-decay group, matrices and cls_emb in the decay group', () => {
    const m = TrainableHsaModel.init(new CpuBackend(), config);
    const { decay, noDecay } = m.groups;
    expect(decay.length + noDecay.length).toBe(m.params.length);
    for (const p of noDecay) expect(p.value.rank === 1, p.name).toBe(true);
    expect(decay.map((p) => p.name)).toContain('backbone.layers.1.cls_emb');
    for (const p of decay) expect(p.value.rank === 2 || p.name.endsWith('cls_emb'), p.name).toBe(true);
    m.dispose();
  });
});

describe('what cannot be trained is a typed error', () => {
  it('Gumbel noise, and the MoE balance loss under checkpointed layers: E_UNSUPPORTED', () => {
    const moe = TrainableHsaModel.init(new CpuBackend(), parseConfig({ ...GRAD_CONFIG, ...MOE, aux_loss_alpha: 0.01 }));
    expect(() => moe.loss(gradBatch(1), { checkpointLayers: true })).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }));
    moe.dispose();
    const gumbel = parseConfig({ ...TINY_CONFIG, enable_gumbel_noise: true });
    expect(() => TrainableHsaModel.init(new CpuBackend(), gumbel)).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }));
  });

  it('bad overrides: E_ARGUMENT', () => {
    const m = TrainableHsaModel.init(new CpuBackend(), parseConfig(GRAD_CONFIG));
    expect(() => m.logits(Array(64).fill(3), { chunkTopk: 0 })).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
    expect(() => m.logits(Array(64).fill(3), { slidingWindow: -1 })).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
    clearTape();
    m.dispose();
  });
});

/** One AdamW step on the gradient batch, so the saved weights are trained ones. */
async function trainOneStep(m: TrainableHsaModel): Promise<void> {
  const opt = new AdamW(m.params);
  const loss = m.loss(gradBatch(3));
  backward(loss);
  loss.dispose();
  opt.update(1e-2);
  opt.zeroGrad();
  await m.backend.sync();
}

const SAVED: [string, Record<string, unknown>][] = [
  ['dense', { ...GRAD_CONFIG, enable_softmax: true, enable_qk_norm: true, attention_bias: true, hsa_only: false, enable_pos_decay: true, tie_word_embeddings: false }],
  ['MoE', { ...GRAD_CONFIG, ...MOE, hsa_only: false }],
];

describe.each(SAVED)('a %s checkpoint trained on the CPU', (_kind, configJson) => {
  let bytes: Uint8Array;
  beforeAll(async () => {
    const m = TrainableHsaModel.init(new CpuBackend(), parseConfig(configJson), { seed: 4 });
    await trainOneStep(m);
    bytes = await m.toSafetensors();
    m.dispose();
  });

  it('holds exactly the reference names and shapes (MoE experts split per expert)', () => {
    const file = SafetensorsFile.parse(bytes);
    const specs = parameterSpecs(parseConfig(configJson));
    expect([...file.names].sort()).toEqual(specs.map((s) => s.name).sort());
    for (const s of specs) expect(file.entry(s.name).shape, s.name).toEqual(s.shape);
  });

  it.each(testBackends())('saved as safetensors, loads into HsaModel and TrainableHsaModel on %s with the same logits', async (_name, make) => {
    const backend: Backend = await make();
    const file = () => ({ label: 'trained.safetensors', file: SafetensorsFile.parse(bytes) });
    const loaded = HsaModel.load(backend, configJson, [file()]);
    const m = TrainableHsaModel.fromFiles(backend, parseConfig(configJson), [file()]);
    const ids = gradBatch(9).ids;
    const a = m.logits(ids);
    const b = await loaded.forward(ids);
    expect(maxAbsDiff((await a.data()) as Float32Array, (await b.data()) as Float32Array)).toBeLessThan(1e-5);
    for (const t of [a, b]) t.dispose();
    clearTape();
    loaded.dispose();
    m.dispose();
  }, 300_000);
});

describe('MoE balancing', () => {
  it("balanceExperts moves each layer's expert bias by ±rate against its load; the forward reports the loads", async () => {
    const m = TrainableHsaModel.init(new CpuBackend(), parseConfig({ ...GRAD_CONFIG, ...MOE, router_bias_update_rate: 0.01 }), { seed: 2 });
    const seen = new Map<string, Tensor[]>();
    const logits = m.logits(gradBatch(4).ids, { onExpertLoad: (p, offsets) => seen.set(p, offsets) });
    logits.dispose();
    clearTape();
    expect([...seen.keys()]).toEqual(m.moePrefixes);
    const loads = new Map<string, Uint32Array>();
    for (const [p, offsets] of seen) {
      const load = await expertLoad(offsets);
      expect(load.reduce((a, b) => a + b, 0)).toBe(192 * 2);
      loads.set(p, load);
      for (const t of offsets) t.dispose();
    }
    await m.balanceExperts(loads);
    for (const [p, load] of loads) {
      const mean = load.reduce((a, b) => a + b, 0) / load.length;
      const bias = (await m.value(`${p}mlp.gate.expert_bias`).data()) as Float32Array;
      expect(Array.from(bias)).toEqual(Array.from(load, (l) => Math.fround(0.01 * Math.sign(mean - l))));
    }
    m.dispose();
  });
});
