/**
 * Chunk K/V in host memory: decoding with createDecodeState(model, { memory: 'host' }) gives the
 * full forward's logits (prefill segments that select chunks completed in the same segment, then
 * single steps across chunk completions), the device holds only landmarks, and the host holds
 * 2 · S · Hk · dh floats per chunk.
 */
import { CpuBackend } from '@hsa/tensor';
import { testBackends } from '@hsa/tensor/test-utils';
import { describe, expect, it } from 'vitest';
import { createDecodeState, decodeStep, prefill } from './decode.js';
import { HostChunkStore } from './host-store.js';
import { HsaModel } from './model.js';
import { maxAbsDiff } from './test-utils/golden.js';
import { randomCheckpoint, TINY_CONFIG } from './test-utils/random-model.js';

const VARIANTS: [string, Record<string, unknown>][] = [
  ['softmax, k 3', { enable_softmax: true, chunk_topk: 3 }],
  ['stick-breaking, own SWA, MoE', { hsa_only: false, hsa_sliding_window: 20, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32, first_k_dense_replace: 1 }],
  // the host keeps the rotated keys: a chunk uploaded for a later query must keep its absolute position
  ['hsa_rope, stick-breaking, k 2 of 4 chunks', { hsa_rope: true }],
];

async function hostDecode(model: HsaModel, ids: number[], p: number): Promise<{ got: Float32Array; state: ReturnType<typeof createDecodeState> }> {
  const state = createDecodeState(model, { memory: 'host' });
  const V = model.config.vocabSize;
  const got = new Float32Array(ids.length * V);
  const pre = await prefill(ids.slice(0, p), state, { segment: 70 });
  got.set((await pre.data()) as Float32Array, 0);
  pre.dispose();
  for (let t = p; t < ids.length; t++) {
    const l = await decodeStep(ids[t], state);
    got.set((await l.data()) as Float32Array, t * V);
    l.dispose();
  }
  return { got, state };
}

describe.each(VARIANTS)('host-memory chunk K/V: %s', (_, patch) => {
  const cfg = { ...TINY_CONFIG, ...patch };
  const file = randomCheckpoint(cfg, 13);
  const ids = Array.from({ length: 280 }, (_, t) => (t * 29 + 7) % 96);

  it('cpu: prefill 150 in segments of 70, steps to 280, equal the full forward', async () => {
    const model = HsaModel.load(new CpuBackend({ poison: true }), cfg, [file]);
    const full = await model.forward(ids);
    const want = (await full.data()) as Float32Array;
    full.dispose();
    const { got, state } = await hostDecode(model, ids, 150);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
    const store = state.store as HostChunkStore;
    expect(store).toBeInstanceOf(HostChunkStore);
    expect(store.chunks).toBe(4);
    expect(store.hostBytes).toBe(4 * 2 * 64 * 2 * 16 * 4);
    const v = store.view()!;
    expect([v.memK, v.memV]).toEqual([[], []]);
    v.landmarks.dispose();
    state.dispose();
    model.dispose();
  }, 300_000);
});

describe.each(testBackends().filter(([n]) => n !== 'cpu'))('%s', (_n, make) => {
  it('host-memory decode equals device-memory decode', async () => {
    const cfg = { ...TINY_CONFIG, enable_softmax: true };
    const model = HsaModel.load(await make(), cfg, [randomCheckpoint(cfg, 14)]);
    const ids = Array.from({ length: 140 }, (_, t) => (t * 31 + 3) % 96);
    const full = await model.forward(ids);
    const want = (await full.data()) as Float32Array;
    full.dispose();
    const { got, state } = await hostDecode(model, ids, 125);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
    state.dispose();
    model.dispose();
  }, 300_000);
});
