/**
 * hsaChunkAttentionBackward on every backend against the CPU backward reference run in float64 (the
 * reference is checked by finite differences in attentionGrad.test.ts).
 */
import { hsaChunkAttentionBackwardRef } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { cast } from '../cast.js';
import { expectClose, freshSeed, randF32, rng, testBackends, toF64 } from '../../test-utils/index.js';
import { hsaChunkAttentionBackward } from './hsaChunkAttentionBackward.js';

interface Case {
  t: number;
  hq: number;
  hk: number;
  d: number;
  s: number;
  chunks: number;
  k: number;
  smN?: 0 | 1;
}

/**
 * Random selection with repeats; some slots carry w = 0 (fewer visible chunks than k), and the first
 * rows (t < S: no completed chunk) only w = 0.
 */
function selection(c: Case, seed: number) {
  const r = rng(seed);
  const idx = new Int32Array(c.t * c.hk * c.k);
  const w = new Float32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    idx[i] = Math.floor(r() * c.chunks);
    w[i] = r() < 0.2 || i < 2 * c.hk * c.k ? 0 : r();
  }
  return { idx, w };
}

/** Sums of ≤ `terms` products with an f32 softmax inside: bounded relative to the tensor's largest gradient. */
function gradTol(want: Float64Array, c: Case): number {
  const m = want.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
  return 64 * 2 ** -23 * (4 * c.d + c.s + c.t * c.k * (c.hq / c.hk)) * (m + 1e-3);
}

const CASES: Case[] = [
  { t: 1, hq: 1, hk: 1, d: 4, s: 3, chunks: 1, k: 1 },
  { t: 5, hq: 4, hk: 2, d: 16, s: 8, chunks: 3, k: 2, smN: 1 },
  { t: 11, hq: 3, hk: 1, d: 33, s: 17, chunks: 6, k: 5 },
  { t: 9, hq: 3, hk: 3, d: 20, s: 5, chunks: 4, k: 4, smN: 1 },
  { t: 3, hq: 16, hk: 1, d: 66, s: 12, chunks: 3, k: 2 },
  // 2 radix passes (130·2 + 1 buckets) over 2 sort blocks (1200 slots)
  { t: 300, hq: 2, hk: 2, d: 4, s: 2, chunks: 130, k: 2 },
];

describe.each(testBackends())('hsaChunkAttentionBackward on %s', (_name, makeBackend) => {
  it.each(CASES)('%j', async (c) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const rows = c.chunks * c.s;
    const q = randF32(c.t * c.hq * c.d, seed, -2, 2);
    const mk = randF32(rows * c.hk * c.d, seed + 1, -2, 2);
    const mv = randF32(rows * c.hk * c.d, seed + 2);
    const dout = randF32(c.t * c.hq * c.d, seed + 3);
    const { idx, w } = selection(c, seed + 4);
    const g = hsaChunkAttentionBackward(
      Tensor.from(be, q, [c.t, c.hq, c.d]),
      Tensor.from(be, mk, [rows, c.hk, c.d]),
      Tensor.from(be, mv, [rows, c.hk, c.d]),
      Tensor.from(be, idx, [c.t, c.hk, c.k], 'i32'),
      Tensor.from(be, w, [c.t, c.hk, c.k]),
      Tensor.from(be, dout, [c.t, c.hq, c.d]),
      { chunkSize: c.s, smN: c.smN },
    );
    const want = [q.length, mk.length, mv.length, w.length].map((n) => new Float64Array(n));
    const [wq, wk, wv, ww] = want;
    hsaChunkAttentionBackwardRef([toF64(q), toF64(mk), toF64(mv), idx, toF64(w), toF64(dout), wq, wk, wv, ww], c);
    const got = [g.dq, g.dK, g.dV, g.dw];
    const names = ['dq', 'dK', 'dV', 'dw'];
    for (let i = 0; i < 4; i++) expectClose(await got[i].data(), want[i], gradTol(want[i], c), `${names[i]} seed=${seed}`);
  });

  it('takes f16 memory (the f32 kernels read its values widened; gradients f32)', async () => {
    const be = await makeBackend();
    const seed = freshSeed();
    const c: Case = { t: 7, hq: 4, hk: 2, d: 12, s: 5, chunks: 3, k: 3 };
    const rows = c.chunks * c.s;
    const q = randF32(c.t * c.hq * c.d, seed, -2, 2);
    const dout = randF32(c.t * c.hq * c.d, seed + 3);
    const { idx, w } = selection(c, seed + 4);
    const [mk, mv] = [1, 2].map((i) => cast(Tensor.from(be, randF32(rows * c.hk * c.d, seed + i, -2, 2), [rows, c.hk, c.d]), 'f16'));
    const g = hsaChunkAttentionBackward(
      Tensor.from(be, q, [c.t, c.hq, c.d]),
      mk,
      mv,
      Tensor.from(be, idx, [c.t, c.hk, c.k], 'i32'),
      Tensor.from(be, w, [c.t, c.hk, c.k]),
      Tensor.from(be, dout, [c.t, c.hq, c.d]),
      { chunkSize: c.s },
    );
    expect([g.dK.dtype, g.dV.dtype]).toEqual(['f32', 'f32']);
    const want = [q.length, mk.size, mv.size, w.length].map((n) => new Float64Array(n));
    const [hk, hv] = await Promise.all([mk, mv].map(async (x) => toF64(await cast(x, 'f32').data())));
    hsaChunkAttentionBackwardRef([toF64(q), hk, hv, idx, toF64(w), toF64(dout), ...want] as Parameters<typeof hsaChunkAttentionBackwardRef>[0], c);
    const got = [g.dq, g.dK, g.dV, g.dw];
    for (let i = 0; i < 4; i++) expectClose(await got[i].data(), want[i], gradTol(want[i], c), `${['dq', 'dK', 'dV', 'dw'][i]} seed=${seed}`);
  });
});
