/**
 * hsa_rope (ours, config.ts): the HSA query of token t is rotated by t and the memory key of chunk i,
 * slot j by i·S + j, so an HSA score depends on the query–key distance only. Checked directly on the
 * recorded `hsa0.q` and `chunk.mem_k` of a random tiny model (the NoPE tensors rotated by absolute
 * positions; equal scores for pairs shifted by S on a period-S input, which chunk-local key positions
 * would break), and that the flag changes the logits from the first retrievable chunk on. Equality of
 * every path under the flag is tested with the other flags: forward-flags, decode, host-store,
 * train/forward and train/gradients.
 */
import { CpuBackend, rope, Tensor } from '@hsa/tensor';
import { describe, expect, it } from 'vitest';
import { HsaModel } from './model.js';
import { maxAbsDiff } from './test-utils/golden.js';
import { randomCheckpoint, TINY_CONFIG } from './test-utils/random-model.js';

/** hsa_only (default): group 0's HSA query reads H_low, so it is the same with and without the flag. */
const BASE = { ...TINY_CONFIG, enable_qk_norm: true };
const S = TINY_CONFIG.chunk_size;
const [HQ, HK, DH] = [4, 2, 16];
const V = TINY_CONFIG.vocab_size;
/** 4 chunks of period S: H_low repeats with period S once the lower SWA window (40) lies past token 0. */
const L = 4 * S;
const periodic = Array.from({ length: L }, (_, t) => ((t % S) * 37 + 5) % V);
const file = randomCheckpoint(BASE, 31);

interface Run {
  logits: Float32Array;
  /** hsa0.q [L, Hq, dh] */
  q: Float32Array;
  /** chunk.mem_k [L, Hk, dh] */
  k: Float32Array;
}

async function run(hsaRope: boolean, ids: number[]): Promise<Run> {
  const m = HsaModel.load(new CpuBackend(), { ...BASE, hsa_rope: hsaRope }, [file]);
  const rec = new Map<string, Float32Array>();
  const pending: Promise<void>[] = [];
  const out = await m.forward(ids, {
    record: (name, t) => {
      const keep = name === 'hsa0.q' || name === 'chunk.mem_k';
      pending.push((keep ? t.data().then((d) => void rec.set(name, d as Float32Array)) : Promise.resolve()).finally(() => t.dispose()));
    },
  });
  await Promise.all(pending);
  const logits = (await out.data()) as Float32Array;
  out.dispose();
  m.dispose();
  return { logits, q: rec.get('hsa0.q')!, k: rec.get('chunk.mem_k')! };
}

/** rope of x [T, H, dh] at positions offset … offset + T − 1 (rope_theta of the config: 10000). */
async function rotated(x: Float32Array, heads: number, offset = 0): Promise<Float32Array> {
  const t = Tensor.from(new CpuBackend(), x, [x.length / (heads * DH), heads, DH]);
  const r = rope(t, { theta: 10_000, positionOffset: offset });
  const d = (await r.data()) as Float32Array;
  t.dispose();
  r.dispose();
  return d;
}

/** score(t, a, h) = q[t, h] · k[a, h / (Hq/Hk)] */
const score = (q: Float32Array, k: Float32Array, t: number, a: number, h: number): number => {
  let s = 0;
  const kh = Math.floor(h / (HQ / HK));
  for (let i = 0; i < DH; i++) s += q[(t * HQ + h) * DH + i] * k[(a * HK + kh) * DH + i];
  return s;
};

/** max over queries t in chunk 2, keys a in chunk 1, heads h of |score(t, a) − score(t + dt, a + da)|. */
function shiftGap(q: Float32Array, k: Float32Array, dt: number, da: number): number {
  let m = 0;
  for (let t = 2 * S; t < 3 * S; t++) for (let a = S; a < 2 * S; a++) for (let h = 0; h < HQ; h++) m = Math.max(m, Math.abs(score(q, k, t, a, h) - score(q, k, t + dt, a + da, h)));
  return m;
}

describe('hsa_rope', () => {
  it('changes the logits from the first retrievable chunk on (tokens < S have no HSA output)', async () => {
    const ids = Array.from({ length: 199 }, (_, t) => (t * 53 + 11) % V);
    const [off, on] = [await run(false, ids), await run(true, ids)];
    expect(maxAbsDiff(on.logits.subarray(0, S * V), off.logits.subarray(0, S * V))).toBe(0);
    expect(maxAbsDiff(on.logits.subarray(S * V), off.logits.subarray(S * V))).toBeGreaterThan(1e-2);
  });

  it('rotates the NoPE query and memory keys by their absolute positions', async () => {
    const [off, on] = [await run(false, periodic), await run(true, periodic)];
    expect(maxAbsDiff(on.q, await rotated(off.q, HQ))).toBeLessThan(1e-5);
    expect(maxAbsDiff(on.k, await rotated(off.k, HK))).toBeLessThan(1e-5);
    // the key of chunk 2, slot j is the token at 2S + j, not at j
    const chunk2 = off.k.subarray(2 * S * HK * DH, 3 * S * HK * DH);
    expect(maxAbsDiff(on.k.subarray(2 * S * HK * DH, 3 * S * HK * DH), await rotated(chunk2, HK, 2 * S))).toBeLessThan(1e-5);
    expect(maxAbsDiff(on.k.subarray(2 * S * HK * DH, 3 * S * HK * DH), await rotated(chunk2, HK, 0))).toBeGreaterThan(0.1);
  });

  it('gives scores that depend on the query–key distance only; chunk-local key positions would not', async () => {
    const [off, on] = [await run(false, periodic), await run(true, periodic)];
    // precondition: NoPE q and K repeat with period S past the first chunk
    expect(maxAbsDiff(off.q.subarray(S * HQ * DH, 3 * S * HQ * DH), off.q.subarray(2 * S * HQ * DH))).toBeLessThan(1e-5);
    expect(maxAbsDiff(off.k.subarray(S * HK * DH, 3 * S * HK * DH), off.k.subarray(2 * S * HK * DH))).toBeLessThan(1e-5);
    // scores are O(dh) = 16 (unit-RMS heads): equal within f32 rounding when both move by S, not when only the query does
    expect(shiftGap(on.q, on.k, S, S)).toBeLessThan(1e-4);
    expect(shiftGap(on.q, on.k, S, 0)).toBeGreaterThan(0.5);
    // the mutation: keys rotated by the chunk-local slot j (every chunk from 0) break the invariance
    const local = new Float32Array(off.k.length);
    for (let c = 0; c < L / S; c++) local.set(await rotated(off.k.subarray(c * S * HK * DH, (c + 1) * S * HK * DH), HK), c * S * HK * DH);
    expect(shiftGap(on.q, local, S, S)).toBeGreaterThan(0.5);
  });
});
