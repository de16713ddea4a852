/**
 * Training end to end: a tiny Transformer learns the copy task on the CPU; a killed run resumed from its
 * checkpoint reproduces the loss curve bit for bit (CPU) and within 1e-5 relative (WebGPU); NaNs stop
 * the step and leave the last checkpoint intact; AbortSignal cancels.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HsaError, NumericError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import * as ag from '../autograd/index.js';
import type { Backend } from '../backend.js';
import { CpuBackend } from '../cpu/cpu-backend.js';
import { AdamW } from '../optim/adamw.js';
import { warmupConstant } from '../optim/schedule.js';
import type { Tensor } from '../tensor.js';
import { webgpuBackend } from '../test-utils/index.js';
import { nodeCheckpointIO } from './checkpoint-node.js';
import { copyBatch } from './copy-task.js';
import { Rng } from './rng.js';
import { type StepReport, Trainer } from './trainer.js';
import { TinyTransformer, type TinyTransformerConfig } from './tiny-transformer.js';

const CFG: TinyTransformerConfig = { vocab: 16, d: 32, layers: 2, heads: 2, ffn: 64 };

interface SetupOptions {
  initSeed?: number;
  path?: string;
  cfg?: Partial<TinyTransformerConfig>;
  signal?: AbortSignal;
  batch?: number;
  every?: number;
  /** a term added to the loss (tests of the gradient guard) */
  extra?: (model: TinyTransformer) => Tensor | null;
}

function setup(backend: Backend, opts: SetupOptions = {}) {
  const model = new TinyTransformer(backend, { ...CFG, ...opts.cfg }, new Rng(opts.initSeed ?? 1));
  const optimizer = new AdamW(model.params, { weightDecay: 0.01 });
  const trainer = new Trainer({
    params: model.params,
    optimizer,
    schedule: warmupConstant(1e-2, 20),
    batch: (rng) => copyBatch(backend, rng, opts.batch ?? 16, 8, CFG.vocab),
    loss: (b) => {
      const l = model.loss(b.ids, b.targets);
      b.ids.dispose();
      b.targets.dispose();
      const e = opts.extra?.(model);
      if (!e) return l;
      const sum = ag.add(l, e);
      l.dispose();
      e.dispose();
      return sum;
    },
    rng: new Rng(7),
    tokensPerBatch: (opts.batch ?? 16) * 16,
    maxGradNorm: 1,
    signal: opts.signal,
    checkpoint: opts.path ? { io: nodeCheckpointIO, path: opts.path, every: opts.every ?? 5, config: { ...CFG } } : undefined,
  });
  return { model, optimizer, trainer };
}

const losses = (rs: StepReport[]) => rs.map((r) => r.loss);
const tmp = () => join(mkdtempSync(join(tmpdir(), 'hsa-train-')), 'ckpt.safetensors');

describe('Trainer on the CPU', () => {
  it('learns the copy task to below 0.05 nats per token', async () => {
    const { trainer } = setup(new CpuBackend());
    const rs = await trainer.run(120);
    const last = rs.slice(-5).map((r) => r.loss);
    expect(Math.max(...last)).toBeLessThan(0.05);
    expect(rs[0].tokensPerSecond).toBeGreaterThan(0);
  });

  it('checkpointed layers give the same losses bit for bit', async () => {
    const a = await setup(new CpuBackend()).trainer.run(4);
    const b = await setup(new CpuBackend(), { cfg: { checkpointLayers: true } }).trainer.run(4);
    expect(losses(b)).toEqual(losses(a));
  });

  it('a killed run resumed from its checkpoint reproduces the loss curve exactly', async () => {
    const straight = losses(await setup(new CpuBackend()).trainer.run(20));
    const path = tmp();
    await setup(new CpuBackend(), { path }).trainer.run(13); // killed after step 13; checkpoint of step 10
    const resumed = setup(new CpuBackend(), { path, initSeed: 99 });
    expect(await resumed.trainer.resume()).toBe(true);
    expect(resumed.trainer.step).toBe(10);
    expect(losses(await resumed.trainer.run(20))).toEqual(straight.slice(10));
  });

  it('a NaN stops the step with a NumericError and leaves the last checkpoint intact', async () => {
    const path = tmp();
    const { model, trainer } = setup(new CpuBackend(), { path });
    await trainer.run(5);
    const before = readFileSync(path);
    const w = model.params.find((p) => p.name === 'l0.wq');
    w?.value.backend.write(w.value.storage, new Float32Array(w.value.size).fill(Number.NaN));
    const err = (await trainer.trainStep().catch((e) => e)) as HsaError;
    expect(err).toBeInstanceOf(NumericError);
    expect(err.code).toBe('E_NUMERIC');
    expect(err.message).toMatch(/loss is NaN/);
    expect(trainer.step).toBe(5);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(model.params.every((p) => p.grad === null)).toBe(true);
  });

  it('a NaN in a gradient (finite loss) names the first offending parameter; the checkpoint stays intact', async () => {
    const path = tmp();
    let poison = false;
    // 0·Σ (wq − wq)^0.5: value 0, but the gradient is 0·∞ = NaN in l0.wq only
    const extra = (m: TinyTransformer) => {
      const wq = m.params.find((p) => p.name === 'l0.wq')?.value;
      if (!poison || !wq) return null;
      const z = ag.pow(ag.sub(wq, wq), 0.5);
      const s = ag.scale(ag.sum(ag.reshape(z, [-1]), 0), 0);
      z.dispose();
      return s;
    };
    const { model, trainer } = setup(new CpuBackend(), { path, extra });
    await trainer.run(5);
    const before = readFileSync(path);
    const wqBefore = await model.params.find((p) => p.name === 'l0.wq')?.value.data();
    poison = true;
    const err = (await trainer.trainStep().catch((e) => e)) as HsaError;
    expect(err).toBeInstanceOf(NumericError);
    expect(err.message).toMatch(/gradient of parameter 'l0\.wq' holds NaN or Inf/);
    expect(trainer.step).toBe(5);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(await model.params.find((p) => p.name === 'l0.wq')?.value.data()).toEqual(wqBefore);
    expect(model.params.every((p) => p.grad === null)).toBe(true);
    poison = false;
    await trainer.trainStep();
    expect(trainer.step).toBe(6);
  });

  it('stops on an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    const { trainer } = setup(new CpuBackend(), { signal: ac.signal });
    await expect(trainer.run(3)).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  it('plans the memory of a step before running it', () => {
    const { model } = setup(new CpuBackend());
    const plain = model.memoryPlan(16, 16);
    const ckpt = setup(new CpuBackend(), { cfg: { checkpointLayers: true } }).model.memoryPlan(16, 16);
    expect(plain.params).toBe(model.params.reduce((s, p) => s + p.value.size * 4, 0));
    expect(ckpt.activations).toBeLessThan(plain.activations);
    expect(plain.total).toBe(plain.params + plain.grads + plain.optimizer + plain.activations);
  });
});

// SwiftShader runs a step of even this model in ~0.5 s (after ~8 s of pipeline compiles): one layer, batch 4
const SMALL = { cfg: { layers: 1 }, batch: 4, every: 2 };

describe.skipIf(process.env.HSA_SKIP_WEBGPU === '1')('Trainer on WebGPU', () => {
  it('matches the CPU losses and resumes within 1e-5 relative', async () => {
    const gpu = await webgpuBackend();
    const cpu = losses(await setup(new CpuBackend(), SMALL).trainer.run(3));
    const straight = losses(await setup(gpu, SMALL).trainer.run(4));
    for (let i = 0; i < 3; i++) expect(Math.abs(straight[i] - cpu[i])).toBeLessThan(1e-4 * cpu[i] + 1e-6);
    const path = tmp();
    await setup(gpu, { ...SMALL, path }).trainer.run(3); // killed after step 3; checkpoint of step 2
    const resumed = setup(gpu, { ...SMALL, path, initSeed: 5 });
    expect(await resumed.trainer.resume()).toBe(true);
    const tail = losses(await resumed.trainer.run(4));
    for (let i = 0; i < tail.length; i++) expect(Math.abs(tail[i] - straight[2 + i])).toBeLessThanOrEqual(1e-5 * straight[2 + i]);
  }, 300_000);
});
