/**
 * The selection inversion behind the HSA backward on every backend: slots with w ≠ 0 grouped by
 * (chunk, KV head) in slot order (a stable sort, checked against a plain one), bucket starts, one and
 * three radix passes; and the chunk-attention backward is bit-identical run to run.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { freshSeed, randF32, rng, testBackends } from '../../test-utils/index.js';
import { hsaChunkAttentionBackward, invertSelection } from './hsaChunkAttentionBackward.js';

describe.each(testBackends())('hsa selection inversion on %s', (_name, makeBackend) => {
  it.each([
    [7, 2, 3, 5],
    [40, 3, 4, 30000],
  ])('t=%i hk=%i k=%i chunks=%i', async (t, hk, k, chunks) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const r = rng(seed);
    const n = t * hk * k;
    const idx = Int32Array.from({ length: n }, () => (r() < 0.1 ? -1 : Math.floor(r() * Math.min(chunks, 9)) * Math.max(1, Math.floor(chunks / 9))));
    const w = Float32Array.from({ length: n }, () => (r() < 0.2 ? 0 : r()));
    const key = (e: number) => (w[e] !== 0 && idx[e] >= 0 && idx[e] < chunks ? idx[e] * hk + (Math.floor(e / k) % hk) : chunks * hk);
    const want = Array.from({ length: n }, (_, e) => e).sort((a, b) => key(a) - key(b) || a - b);
    const { order, starts } = invertSelection(Tensor.from(be, idx, [t, hk, k], 'i32'), Tensor.from(be, w, [t, hk, k]), { t, hk, k, chunks });
    const label = `seed=${seed}`;
    expect(Array.from(await order.data()), label).toEqual(want);
    const s = await starts.data();
    for (const b of [0, 1, hk, chunks * hk - 1, chunks * hk]) {
      expect(s[b], `${label} bucket ${b}`).toBe(want.filter((e) => key(e) < b).length);
    }
  });

  it('hsaChunkAttentionBackward is bit-identical run to run', async () => {
    const be = await makeBackend();
    const seed = freshSeed();
    const [t, hq, hk, d, s, chunks, k] = [40, 2, 1, 8, 4, 3, 3];
    const r = rng(seed);
    const make = (a: Float32Array, shape: number[]) => Tensor.from(be, a, shape);
    const q = make(randF32(t * hq * d, seed), [t, hq, d]);
    const mem = make(randF32(chunks * s * hk * d, seed + 1), [chunks * s, hk, d]);
    const idx = Tensor.from(be, Int32Array.from({ length: t * hk * k }, () => Math.floor(r() * chunks)), [t, hk, k], 'i32');
    const w = make(randF32(t * hk * k, seed + 2, 0, 1), [t, hk, k]);
    const dout = make(randF32(t * hq * d, seed + 3), [t, hq, d]);
    const run = async () => {
      const g = hsaChunkAttentionBackward(q, mem, mem, idx, w, dout, { chunkSize: s });
      return Promise.all([g.dq, g.dK, g.dV, g.dw].map(async (x) => Array.from(await x.data())));
    };
    expect(await run(), `seed=${seed}`).toEqual(await run());
  });
});
