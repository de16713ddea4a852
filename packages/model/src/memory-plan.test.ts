/**
 * The memory plan: its weight bytes equal what loading allocates (f32, bf16, MoE), its chunk memory
 * equals what a decoding state's store allocates, a 16M-token plan of the bench config is the
 * arithmetic of S·Hk·dh, and a budget too small is a typed error raised before any upload.
 */
import { dtypeBytes } from '@hsa/kernels';
import { CpuBackend, type Tensor } from '@hsa/tensor';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';
import { createDecodeState, prefill } from './decode.js';
import { checkMemoryPlan, formatMemoryPlan, planMemory } from './memory-plan.js';
import { HsaModel } from './model.js';
import { goldenConfigJson } from './test-utils/golden.js';
import { randomCheckpoint, TINY_CONFIG } from './test-utils/random-model.js';

const bytes = (t: Tensor) => t.size * dtypeBytes(t.dtype);

function heldBytes(m: HsaModel): number {
  let n = 0;
  for (const name of m.weights.names) n += bytes(m.weights.get(name));
  for (const l of m.weights.moe.values()) {
    n += bytes(l.gate) + l.config.experts * 4;
    for (const w of [l.experts, l.shared]) if (w) n += bytes(w.gate) + bytes(w.up) + bytes(w.down);
  }
  return n;
}

const MOE = { ...TINY_CONFIG, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32, num_shared_experts: 1, first_k_dense_replace: 1 };

describe('planMemory', () => {
  it.each([
    ['f32', TINY_CONFIG, 'auto'],
    ['bf16', TINY_CONFIG, 'bf16'],
    ['MoE bf16', MOE, 'bf16'],
  ] as const)('%s: weight bytes equal what loading holds', (_, cfg, matrixDtype) => {
    const m = HsaModel.load(new CpuBackend(), cfg, [randomCheckpoint(cfg, 1)], { matrixDtype });
    expect(m.memoryPlan(1000).weights).toBe(heldBytes(m));
    m.dispose();
  });

  it('chunk memory equals what a decoding state allocates (9 chunks in a 16-chunk block)', async () => {
    const m = HsaModel.load(new CpuBackend(), TINY_CONFIG, [randomCheckpoint(TINY_CONFIG, 2)]);
    const state = createDecodeState(m);
    (await prefill(Array.from({ length: 600 }, (_, t) => t % 96), state, { logits: 'last' })).dispose();
    const v = state.store.view()!;
    const held = [v.memK, v.memV].flat().reduce((n, t) => n + t.storage.bytes, 0);
    for (const t of [v.memK, v.memV, v.landmarks].flat()) t.dispose();
    expect(m.memoryPlan(600).chunkMemory).toBe(held);
    state.dispose();
    m.dispose();
  });

  it('a decoding state asks the backend to keep twice its segment activations pooled', () => {
    const be = new CpuBackend();
    const asked: number[] = [];
    Object.assign(be, { reservePool: (n: number) => asked.push(n) });
    const m = HsaModel.load(be, TINY_CONFIG, [randomCheckpoint(TINY_CONFIG, 3)]);
    createDecodeState(m).dispose();
    expect(asked).toEqual([2 * m.memoryPlan(m.config.inferenceSegment).activations]);
    expect(asked[0]).toBeGreaterThan(0);
  });

  it('16M tokens of the bench config: 2 · 16M · 64 · 4 bytes of chunk K/V', () => {
    const c = parseConfig({ ...(goldenConfigJson() as object), hidden_size: 1024, num_attention_heads: 16, num_kv_heads: 1, num_key_value_heads: 1, chunk_size: 64, retrieval_dim: 128 });
    const p = planMemory(c, { context: 2 ** 24, segment: 16384 });
    expect(p.chunkMemory).toBe(2 * 2 ** 24 * 64 * 4);
    expect(p.landmarks).toBe(2 ** 18 * 128 * 4);
    expect(formatMemoryPlan(p)).toMatch(/chunk K\/V\s+8\.00 GiB/);
    const host = planMemory(c, { context: 2 ** 24, segment: 16384, hostMemory: true });
    expect([host.chunkMemory, host.hostChunkMemory, host.total]).toEqual([0, p.chunkMemory, p.total - p.chunkMemory]);
  });

  it('over budget: E_OUT_OF_MEMORY saying how many tokens fit, raised by load before any upload', () => {
    const c = parseConfig(TINY_CONFIG);
    const p = planMemory(c, { context: 1 << 20 });
    expect(() => checkMemoryPlan(p, p.total - 1)).toThrow(/about \d+ tokens fit/);
    expect(() => checkMemoryPlan(p, p.total)).not.toThrow();
    const be = new CpuBackend();
    expect(() => HsaModel.load(be, TINY_CONFIG, [randomCheckpoint(TINY_CONFIG, 1)], { budget: { bytes: 1 << 20, context: 1 << 20 } })).toThrow(
      expect.objectContaining({ code: 'E_OUT_OF_MEMORY' }),
    );
  });
});
