/** hsaChunkAttention on every backend against the CPU reference in float64. */
import { ArgumentError, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, hsaChunkAttentionForwardRef } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { expectClose, freshSeed, randF32, rng, testBackends, toF64 } from '../../test-utils/index.js';
import { hsaChunkAttention } from './hsaChunkAttention.js';

interface Case {
  t: number;
  hq: number;
  hk: number;
  d: number;
  s: number;
  chunks: number;
  k: number;
  smN?: 0 | 1;
  parts?: number;
  bf16?: boolean;
  /** K/V stored as f16 (bf16 wins when both are set) */
  f16?: boolean;
  /** the WebGPU kernel (default: the op's choice) */
  variant?: 'tile' | 'head' | 'decode';
  /** chunk counts of the memory parts (default: `parts` parts of ⌈chunks / parts⌉, the last fewer) */
  sizes?: number[];
  partsPerDispatch?: number;
  slotSplit?: number;
}

/** Random selection: distinct chunks per row, some slots weight 0 with an index that must not matter. */
function selection(c: Case, seed: number) {
  const r = rng(seed);
  const idx = new Int32Array(c.t * c.hk * c.k);
  const w = new Float32Array(c.t * c.hk * c.k);
  for (let i = 0; i < idx.length; i++) {
    idx[i] = Math.floor(r() * c.chunks);
    w[i] = r() < 0.2 ? 0 : r();
  }
  return { idx, w };
}

/** Outputs are Σ_j w_j·(convex combination of V rows), |V| ≤ 1, Σw ≤ k: an f32 error of a few ε·(D + S)·k. */
const tol = (c: Case) => 64 * 2 ** -23 * (4 * c.d + c.s) * c.k;

const CASES: Case[] = [
  { t: 1, hq: 1, hk: 1, d: 4, s: 3, chunks: 1, k: 1 },
  { t: 5, hq: 4, hk: 2, d: 16, s: 8, chunks: 3, k: 2, smN: 1 },
  { t: 7, hq: 32, hk: 2, d: 128, s: 64, chunks: 4, k: 3 },
  { t: 3, hq: 3, hk: 1, d: 33, s: 17, chunks: 6, k: 5, parts: 3 },
  { t: 4, hq: 6, hk: 3, d: 20, s: 5, chunks: 4, k: 4, bf16: true, parts: 2 },
  // ≥ 256 (token, KV head) pairs: one workgroup per pair over all slots, parts accumulated
  { t: 130, hq: 2, hk: 2, d: 4, s: 4, chunks: 3, k: 2, parts: 2 },
  // the head variant (decode's default) on the shapes above and on its own edges: keys split over
  // lanes (S < 256), one lane a key (S ≥ 256, two passes), one lane a dimension (D = 256), d odd
  ...[
    { t: 1, hq: 1, hk: 1, d: 4, s: 3, chunks: 1, k: 1 },
    { t: 5, hq: 4, hk: 2, d: 16, s: 8, chunks: 3, k: 2, smN: 1 as const },
    { t: 1, hq: 32, hk: 2, d: 128, s: 64, chunks: 40, k: 16, bf16: true, parts: 3 },
    { t: 2, hq: 3, hk: 1, d: 33, s: 300, chunks: 3, k: 2 },
    { t: 1, hq: 2, hk: 2, d: 256, s: 17, chunks: 4, k: 3, smN: 1 as const },
    { t: 3, hq: 6, hk: 3, d: 20, s: 5, chunks: 4, k: 4, bf16: true, parts: 2 },
  ].map((c) => ({ ...c, variant: 'head' as const })),
  { t: 1, hq: 32, hk: 2, d: 128, s: 64, chunks: 40, k: 16, bf16: true, parts: 3, variant: 'tile' },
  // memory parts: bound together (as many as the device allows), one a dispatch, of unequal sizes
  // (one a dispatch, whatever the device)
  { t: 1, hq: 32, hk: 2, d: 128, s: 64, chunks: 40, k: 16, bf16: true, variant: 'head' },
  { t: 1, hq: 4, hk: 2, d: 16, s: 8, chunks: 29, k: 6, parts: 5, variant: 'head' },
  { t: 1, hq: 4, hk: 2, d: 16, s: 8, chunks: 29, k: 6, parts: 5, variant: 'head', partsPerDispatch: 1 },
  { t: 2, hq: 4, hk: 2, d: 16, s: 8, chunks: 29, k: 6, parts: 5, variant: 'tile', bf16: true },
  { t: 1, hq: 4, hk: 2, d: 16, s: 8, chunks: 7, k: 3, sizes: [2, 4, 1], variant: 'head' },
  // the decode variant (decode's default where D allows 16-byte words): one token and several, f32
  // words of 4 and packed words of 8, one word a row (D 4 / 8) and 64 (D 256 f32), slot groups
  // (k·S over 1024 rows: k 37 at S 64, S 300, S 512), score passes over several row blocks, rows
  // over lanes that do not divide 256 (D 36 f32: 9 words, D 24 bf16: 3), memory parts bound
  // together, one a dispatch and of unequal sizes; workgroups over 1 (no planes), 3 (uneven), 4 or
  // all k slots (the default)
  ...[
    { t: 1, hq: 1, hk: 1, d: 4, s: 3, chunks: 1, k: 1 },
    { t: 5, hq: 4, hk: 2, d: 16, s: 8, chunks: 3, k: 2, smN: 1 as const },
    { t: 1, hq: 32, hk: 2, d: 128, s: 64, chunks: 40, k: 16, bf16: true, parts: 3 },
    { t: 1, hq: 32, hk: 2, d: 128, s: 64, chunks: 50, k: 37, f16: true, parts: 2, slotSplit: 1 },
    { t: 1, hq: 32, hk: 2, d: 128, s: 64, chunks: 50, k: 16, bf16: true, slotSplit: 3 },
    { t: 1, hq: 8, hk: 1, d: 64, s: 64, chunks: 20, k: 16, slotSplit: 4 },
    { t: 2, hq: 3, hk: 1, d: 36, s: 300, chunks: 3, k: 2 },
    { t: 1, hq: 2, hk: 2, d: 256, s: 17, chunks: 4, k: 3, smN: 1 as const },
    { t: 3, hq: 6, hk: 3, d: 24, s: 5, chunks: 4, k: 4, bf16: true, parts: 2 },
    { t: 1, hq: 2, hk: 1, d: 8, s: 512, chunks: 3, k: 3, f16: true, slotSplit: 1 },
    { t: 1, hq: 4, hk: 2, d: 16, s: 8, chunks: 29, k: 6, parts: 5 },
    { t: 1, hq: 4, hk: 2, d: 16, s: 8, chunks: 29, k: 6, parts: 5, bf16: true, partsPerDispatch: 1 },
    { t: 1, hq: 4, hk: 2, d: 16, s: 8, chunks: 29, k: 6, parts: 5, partsPerDispatch: 2, slotSplit: 1 },
    { t: 1, hq: 4, hk: 2, d: 16, s: 8, chunks: 7, k: 3, sizes: [2, 4, 1] },
  ].map((c) => ({ ...c, variant: 'decode' as const })),
];

describe.each(testBackends())('hsaChunkAttention on %s', (_name, makeBackend) => {
  it.each(CASES)('%j', async (c) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const rows = c.chunks * c.s;
    const q = randF32(c.t * c.hq * c.d, seed, -2, 2);
    let mk = randF32(rows * c.hk * c.d, seed + 1, -2, 2);
    let mv = randF32(rows * c.hk * c.d, seed + 2);
    if (c.bf16) [mk, mv] = [mk, mv].map((a) => a.map((x) => bf16ToF32(f32ToBf16(x))));
    else if (c.f16) [mk, mv] = [mk, mv].map((a) => a.map((x) => f16ToF32(f32ToF16(x))));
    const { idx, w } = selection(c, seed + 3);
    const dtype = c.bf16 ? 'bf16' : c.f16 ? 'f16' : 'f32';
    const parts = c.parts ?? 1;
    const per = Math.ceil(c.chunks / parts);
    const sizes = c.sizes ?? Array.from({ length: Math.ceil(c.chunks / per) }, (_, i) => Math.min(per, c.chunks - i * per));
    const slices = (a: Float32Array) => {
      const out: Tensor[] = [];
      let c0 = 0;
      for (const n of sizes) {
        out.push(Tensor.from(be, a.subarray(c0 * c.s * c.hk * c.d, (c0 + n) * c.s * c.hk * c.d), [n * c.s, c.hk, c.d], dtype));
        c0 += n;
      }
      return out;
    };
    const out = hsaChunkAttention(
      Tensor.from(be, q, [c.t, c.hq, c.d]),
      slices(mk),
      slices(mv),
      Tensor.from(be, idx, [c.t, c.hk, c.k], 'i32'),
      Tensor.from(be, w, [c.t, c.hk, c.k]),
      { chunkSize: c.s, smN: c.smN, variant: c.variant, partsPerDispatch: c.partsPerDispatch, slotSplit: c.slotSplit },
    );
    const want = new Float64Array(c.t * c.hq * c.d);
    const p = { t: c.t, hq: c.hq, hk: c.hk, d: c.d, s: c.s, chunks: c.chunks, k: c.k, smN: c.smN };
    hsaChunkAttentionForwardRef([toF64(q), toF64(mk), toF64(mv), idx, toF64(w), want], p);
    expectClose(await out.data(), want, tol(c), `seed=${seed}`);
  });
});

describe.each(testBackends())('hsaChunkAttention options on %s', (_name, makeBackend) => {
  it('slotSplit must be a positive integer (typed error)', async () => {
    const be = await makeBackend();
    const mem = Tensor.from(be, randF32(2 * 4 * 8, 1), [8, 2, 4]);
    const args = [Tensor.from(be, randF32(4 * 4, 2), [1, 4, 4]), mem, mem, Tensor.from(be, new Int32Array([0, 1, 1, 0]), [1, 2, 2], 'i32'), Tensor.from(be, randF32(4, 3), [1, 2, 2])] as const;
    for (const slotSplit of [0, 1.5]) expect(() => hsaChunkAttention(...args, { chunkSize: 4, slotSplit })).toThrow(ArgumentError);
  });
});
