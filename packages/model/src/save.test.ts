/**
 * Saving: a model written by saveModelDir reloads identically (every tensor bit-equal, the same
 * logits) as one file, as shards with an index, with bf16 matrices kept bf16 on disk, and with MoE
 * layers unstacked into per-expert tensors; a save over the other layout leaves no stale index.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend, SafetensorsFile, type Tensor } from '@hsa/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { HsaModel } from './model.js';
import { loadModelDir, saveModelDir } from './node.js';
import { modelTensors } from './save.js';
import { goldenModel } from './test-utils/golden.js';
import { randomCheckpoint, TINY_CONFIG } from './test-utils/random-model.js';

const tmp = mkdtempSync(join(tmpdir(), 'hsa-save-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const IDS = Array.from({ length: 150 }, (_, t) => (t * 37 + 5) % 96);

async function logits(m: HsaModel): Promise<Float32Array> {
  const t: Tensor = await m.forward(IDS);
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

async function expectSame(a: HsaModel, b: HsaModel): Promise<void> {
  const [ta, tb] = [await modelTensors(a), await modelTensors(b)];
  expect(Object.keys(tb).sort()).toEqual(Object.keys(ta).sort());
  for (const name of Object.keys(ta)) {
    expect(tb[name].dtype, name).toBe(ta[name].dtype);
    expect(Buffer.from(new Float32Array(tb[name].data as Float32Array).buffer).equals(Buffer.from(new Float32Array(ta[name].data as Float32Array).buffer)), name).toBe(true);
  }
  expect(Array.from(await logits(b))).toEqual(Array.from(await logits(a)));
}

describe('saveModelDir', () => {
  it('golden f32: one file, then shards of ≤ 1 MB with an index; both reload identically', async () => {
    const be = new CpuBackend();
    const model = goldenModel(be);
    const dir = join(tmp, 'golden');
    expect(await saveModelDir(model, dir)).toEqual(['model.safetensors', 'config.json']);
    const one = await loadModelDir(be, dir);
    await expectSame(model, one);
    one.dispose();
    const files = await saveModelDir(model, dir, { shardBytes: 1 << 20 });
    expect(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(3);
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
    const sharded = await loadModelDir(be, dir);
    await expectSame(model, sharded);
    sharded.dispose();
    await saveModelDir(model, dir);
    expect(existsSync(join(dir, 'model.safetensors.index.json'))).toBe(false);
    model.dispose();
  }, 300_000);

  it('bf16 matrices are saved as BF16 and reload bit-exactly', async () => {
    const be = new CpuBackend();
    const f = randomCheckpoint(TINY_CONFIG, 3);
    const model = HsaModel.load(be, TINY_CONFIG, [f], { matrixDtype: 'bf16' });
    const dir = join(tmp, 'bf16');
    await saveModelDir(model, dir);
    const file = SafetensorsFile.parse(readFileSync(join(dir, 'model.safetensors')));
    expect(file.entry('backbone.layers.0.self_attn.q_proj.weight').dtype).toBe('BF16');
    expect(file.entry('backbone.norm_f.weight').dtype).toBe('F32');
    const back = await loadModelDir(be, dir);
    await expectSame(model, back);
    for (const m of [model, back]) m.dispose();
  }, 300_000);

  it('MoE layers round-trip through per-expert tensors (with the expert bias)', async () => {
    const be = new CpuBackend();
    const cfg = { ...TINY_CONFIG, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32, num_shared_experts: 1, first_k_dense_replace: 1 };
    const model = HsaModel.load(be, cfg, [randomCheckpoint(cfg, 4)]);
    const dir = join(tmp, 'moe');
    await saveModelDir(model, dir, { shardBytes: 200_000 });
    expect(readdirSync(dir)).toContain('model.safetensors.index.json');
    const back = await loadModelDir(be, dir);
    await expectSame(model, back);
    for (const m of [model, back]) m.dispose();
  }, 300_000);
});
