/**
 * The growing chunk memory: with a binding limit of 3 chunks per block the state's memory is split
 * into blocks (parts) and grows by doubling inside one; decoding 600 tokens across many chunk
 * completions still equals the full forward (poisoned allocations catch a read past a block's used rows).
 */
import { CpuBackend, Tensor } from '@hsa/tensor';
import { describe, expect, it } from 'vitest';
import { ChunkStore } from './chunk-store.js';
import { createDecodeState, decodeStep, prefill } from './decode.js';
import { HsaModel } from './model.js';
import { maxAbsDiff } from './test-utils/golden.js';
import { randomCheckpoint, TINY_CONFIG } from './test-utils/random-model.js';

const CONFIG = { ...TINY_CONFIG, enable_softmax: true, chunk_topk: 3 };
const FILE = randomCheckpoint(CONFIG, 21);
const CHUNK_BYTES = 64 * 2 * 16 * 4; // S · Hk · dh · f32

describe('ChunkStore', () => {
  it('splits K/V into blocks of at most maxBlock chunks; decode over them equals the full forward', async () => {
    const ids = Array.from({ length: 600 }, (_, t) => (t * 41 + 7) % 96);
    const ref = HsaModel.load(new CpuBackend(), CONFIG, [FILE]);
    const full = await ref.forward(ids);
    const want = (await full.data()) as Float32Array;
    full.dispose();
    ref.dispose();
    const model = HsaModel.load(new CpuBackend({ poison: true, maxBindingBytes: 3 * CHUNK_BYTES }), CONFIG, [FILE]);
    const state = createDecodeState(model);
    const V = CONFIG.vocab_size;
    const got = new Float32Array(ids.length * V);
    const pre = await prefill(ids.slice(0, 130), state, { segment: 50 });
    got.set((await pre.data()) as Float32Array, 0);
    pre.dispose();
    for (let t = 130; t < ids.length; t++) {
      const l = await decodeStep(ids[t], state);
      got.set((await l.data()) as Float32Array, t * V);
      l.dispose();
    }
    const store = state.store as ChunkStore;
    expect(store.maxBlock).toBe(3);
    expect(state.chunks).toBe(9);
    expect(store.parts).toBe(3);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
    state.dispose();
    model.dispose();
  }, 300_000);

  it('grows one block by doubling while it fits a binding, keeping every row appended', async () => {
    const model = HsaModel.load(new CpuBackend({ poison: true }), CONFIG, [FILE]);
    const store = new ChunkStore(model.config, model.backend);
    const rows = 64 * 2 * 16;
    const lrow = 64;
    const wantK: number[] = [];
    const wantL: number[] = [];
    let x = 0;
    for (const n of [1, 2, 20, 1, 40]) {
      const k = Array.from({ length: n * rows }, () => x++);
      const l = Array.from({ length: n * lrow }, () => x++);
      wantK.push(...k);
      wantL.push(...l);
      const t = (d: number[], shape: number[]) => Tensor.from(model.backend, Float32Array.from(d), shape);
      store.append({ chunks: n, memK: t(k, [n * 64, 2, 16]), memV: t(k, [n * 64, 2, 16]), landmarks: t(l, [n, 2, 32]) });
    }
    const v = store.view()!;
    expect([store.parts, v.chunks]).toEqual([1, 64]);
    const parts = v.memK as Tensor[];
    expect(Array.from(await parts[0].data())).toEqual(wantK);
    expect(Array.from(await v.landmarks.data())).toEqual(wantL);
    for (const t of [...parts, ...(v.memV as Tensor[]), v.landmarks]) t.dispose();
    store.dispose();
    model.dispose();
  });
});
