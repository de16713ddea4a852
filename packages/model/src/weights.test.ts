/**
 * Weight loading: bad checkpoints (missing tensor, wrong shape, unsupported dtype, truncated file,
 * missing shard) are typed `E_BAD_CHECKPOINT` errors naming the tensor, found before anything is
 * uploaded; F16/BF16 files stay packed and compute what the same values in F32 compute; sharded
 * checkpoints load like one file. CPU only: this is about loading, the forward is tested elsewhere.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '@hsa/kernels';
import { CpuBackend, HsaError, SafetensorsFile, type SafetensorsTensorInput, serializeSafetensors } from '@hsa/tensor';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadModelDir } from './node.js';
import { goldenPath, maxAbsDiff } from './test-utils/golden.js';

type Tensors = Record<string, SafetensorsTensorInput>;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const source = SafetensorsFile.parse(readFileSync(goldenPath('model.safetensors')));
const configText = readFileSync(goldenPath('config_softmax.json'), 'utf8');
/** the golden weights as writer input (F32), optionally converted */
function goldenTensors(map: (name: string, v: Float32Array, shape: number[]) => SafetensorsTensorInput | null = (_, v, s) => ({ dtype: 'F32', shape: s, data: v })): Tensors {
  const out: Tensors = {};
  for (const n of source.names) {
    const t = map(n, source.float32(n), [...source.entry(n).shape]);
    if (t) out[n] = t;
  }
  return out;
}

/** A model directory with config.json and the given files. */
function modelDir(files: Record<string, Uint8Array | string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hsa-model-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'config.json'), configText);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return dir;
}

async function loadError(dir: string, backend = new CpuBackend()): Promise<HsaError & { tensor: string | null }> {
  const alloc = vi.spyOn(backend, 'alloc');
  const err = await loadModelDir(backend, dir).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HsaError);
  expect((err as HsaError).code).toBe('E_BAD_CHECKPOINT');
  expect(alloc).not.toHaveBeenCalled(); // nothing half-loaded: every check runs before the first upload
  return err as HsaError & { tensor: string | null };
}

describe('bad checkpoints', () => {
  it('a missing tensor is named', async () => {
    const t = goldenTensors();
    delete t['backbone.layers.7.q_norm.weight'];
    const e = await loadError(modelDir({ 'model.safetensors': serializeSafetensors(t) }));
    expect(e.tensor).toBe('backbone.layers.7.q_norm.weight');
    expect(e.message).toMatch(/missing/);
  });

  it('a wrong shape is named with both shapes', async () => {
    const t = goldenTensors();
    t['backbone.layers.2.lmk_ln.weight'] = { dtype: 'F32', shape: [32, 128], data: new Float32Array(32 * 128) };
    const e = await loadError(modelDir({ 'model.safetensors': serializeSafetensors(t) }));
    expect(e.tensor).toBe('backbone.layers.2.lmk_ln.weight');
    expect(e.message).toContain('[32, 128]');
    expect(e.message).toContain('[64, 128]');
  });

  it('an integer dtype for a weight is rejected', async () => {
    const t = goldenTensors();
    t['backbone.norm_f.weight'] = { dtype: 'I32', shape: [128], data: new Int32Array(128) };
    const e = await loadError(modelDir({ 'model.safetensors': serializeSafetensors(t) }));
    expect(e.tensor).toBe('backbone.norm_f.weight');
    expect(e.message).toMatch(/dtype I32/);
  });

  it('a truncated file names the tensor that runs past the end', async () => {
    const bytes = serializeSafetensors(goldenTensors());
    const e = await loadError(modelDir({ 'model.safetensors': bytes.subarray(0, bytes.byteLength - 100) }));
    expect(e.tensor).not.toBeNull();
    expect(e.message).toMatch(/out of range/);
    const header = await loadError(modelDir({ 'model.safetensors': bytes.subarray(0, 100) }));
    expect(header.message).toMatch(/truncated/);
  });

  it('no weights, or a shard the index names but the directory lacks', async () => {
    expect((await loadError(modelDir({}))).message).toMatch(/neither model.safetensors/);
    const index = JSON.stringify({ weight_map: { 'backbone.embeddings.weight': 'model-00001-of-00001.safetensors' } });
    expect((await loadError(modelDir({ 'model.safetensors.index.json': index }))).message).toMatch(/not found/);
  });
});

/** Logits of the first 192 tokens (3 chunks) of a model directory, on the CPU. */
async function logits(dir: string): Promise<{ logits: Float32Array; dtypes: Record<string, string> }> {
  const m = await loadModelDir(new CpuBackend(), dir);
  const ids = Array.from({ length: 192 }, (_, i) => (i * 37 + 11) % 512);
  const out = await m.forward(ids);
  const res = { logits: (await out.data()) as Float32Array, dtypes: {} as Record<string, string> };
  for (const n of ['backbone.embeddings.weight', 'backbone.layers.0.self_attn.q_proj.weight', 'backbone.norm_f.weight']) res.dtypes[n] = m.weights.get(n).dtype;
  out.dispose();
  m.dispose();
  return res;
}

describe.each([
  ['BF16', 'bf16', (v: number) => bf16ToF32(f32ToBf16(v))],
  ['F16', 'f16', (v: number) => f16ToF32(f32ToF16(v))],
] as const)('%s checkpoints', (disk, dtype, round) => {
  it('keep matrices packed, upcast norms, and match F32 weights of the same values', async () => {
    const half = goldenTensors((_, v, shape) => ({ dtype: disk, shape, data: v }));
    const f32 = goldenTensors((_, v, shape) => ({ dtype: 'F32', shape, data: Float32Array.from(v, round) }));
    const a = await logits(modelDir({ 'model.safetensors': serializeSafetensors(half) }));
    const b = await logits(modelDir({ 'model.safetensors': serializeSafetensors(f32) }));
    expect(Object.values(a.dtypes)).toEqual([dtype, dtype, 'f32']);
    // same weights, same ops; only the matmul's read of packed halves differs, exactly
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-5);
  });
});

it('a sharded checkpoint (index.json) loads like one file', async () => {
  const all = goldenTensors();
  const names = Object.keys(all);
  const shards: Tensors[] = [{}, {}];
  const weightMap: Record<string, string> = {};
  names.forEach((n, i) => {
    shards[i % 2][n] = all[n];
    weightMap[n] = `model-0000${(i % 2) + 1}-of-00002.safetensors`;
  });
  const sharded = modelDir({
    'model-00001-of-00002.safetensors': serializeSafetensors(shards[0]),
    'model-00002-of-00002.safetensors': serializeSafetensors(shards[1]),
    'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map: weightMap }),
  });
  const single = modelDir({ 'model.safetensors': serializeSafetensors(all) });
  const [a, b] = [await logits(sharded), await logits(single)];
  expect(maxAbsDiff(a.logits, b.logits)).toBe(0);
});

it('a bad config.json fails before the weights are read', async () => {
  const dir = modelDir({ 'model.safetensors': 'not a safetensors file' });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(configText), chunk_size: 100 }));
  await expect(loadModelDir(new CpuBackend(), dir)).rejects.toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', field: 'chunk_size' }));
});

describe('upload progress', () => {
  it('reports bytes after each tensor / MoE layer, increasing to the bytes of every used tensor', async () => {
    const seen: [number, number][] = [];
    const dir = mkdtempSync(join(tmpdir(), 'hsa-progress-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'config.json'), configText);
    writeFileSync(join(dir, 'model.safetensors'), readFileSync(goldenPath('model.safetensors')));
    const m = await loadModelDir(new CpuBackend(), dir, { onProgress: (d, t) => seen.push([d, t]) });
    const used = m.weights.names.reduce((n, name) => n + source.entry(name).end - source.entry(name).begin, 0);
    m.dispose();
    expect(seen.length).toBeGreaterThan(10);
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThan(seen[i - 1][0]);
    expect(seen.at(-1)).toEqual([used, used]);
  });
});
