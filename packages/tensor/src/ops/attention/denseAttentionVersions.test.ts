/**
 * The dense attention forward kernels with the version forced (v1, v2, v3, v4 and v5 for D ≤ 64: swaAttention.ts in
 * @hsa/kernels) against the float64 references, out and lse, at v2 / v3's edge conditions: T not a
 * multiple of the token tile, window 0 / 1, chunk lengths not multiples of the tile,
 * D = 16 / 33 / 64 / 100 / 128 (padded head dims, two K/V slices), Hq:Hk 1:1, 4:1, 16:1, 3:1 (a
 * tile with unused rows), T = 1.
 * On the CPU backend the kernel runs its reference (the version only selects GPU programs).
 */
import { chunkEncoderAttentionForward, type DenseVersion, type KeyTileV4, swaAttentionForward, swaAttentionForwardRef } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../backend.js';
import { Tensor } from '../../tensor.js';
import { expectClose, freshSeed, randF32, testBackends, toF64 } from '../../test-utils/index.js';

/** As in swaAttention.test.ts: 64·ε·(4D + K) absolute, for out (|v| ≤ 1) and lse (scores ≤ 4D·scale). */
const attnTol = (d: number, keys: number) => 64 * 2 ** -23 * (d * 4 + keys);

/** swaAttentionForward with `p` on fresh random q, k, v against the float64 reference: out and lse. */
async function checkSwa(be: Backend, p: { t: number; hq: number; hk: number; d: number; window: number; version: DenseVersion; shuffleMax?: boolean; keyTile?: KeyTileV4 }) {
  const { t: T, hq, hk, d, window } = p;
  const seed = freshSeed();
  const [q, k, v] = [randF32(T * hq * d, seed, -2, 2), randF32(T * hk * d, seed + 1, -2, 2), randF32(T * hk * d, seed + 2)];
  const ins = [Tensor.from(be, q, [T, hq, d]), Tensor.from(be, k, [T, hk, d]), Tensor.from(be, v, [T, hk, d])];
  const out = Tensor.empty(be, [T, hq, d], 'f32');
  const lse = Tensor.empty(be, [T, hq], 'f32');
  be.run(swaAttentionForward, p, [...ins.map((x) => x.arg()), out.arg(), lse.arg()]);
  const [want, wantLse] = [new Float64Array(T * hq * d), new Float64Array(T * hq)];
  swaAttentionForwardRef([toF64(q), toF64(k), toF64(v), want, wantLse], { t: T, hq, hk, d, window });
  expectClose(await out.data(), want, attnTol(d, window + 1), `out seed=${seed}`);
  expectClose(await lse.data(), wantLse, attnTol(d, window + 1), `lse seed=${seed}`);
  for (const x of [...ins, out, lse]) x.dispose();
}

/** chunkEncoderAttentionForward with `p` on fresh random q, k, v against the float64 reference: out and lse. */
async function checkChunk(be: Backend, p: { n: number; t: number; hq: number; hk: number; d: number; version: DenseVersion; keyTile?: KeyTileV4 }) {
  const { n, t: T, hq, hk, d } = p;
  const seed = freshSeed();
  const [q, k, v] = [randF32(n * T * hq * d, seed, -2, 2), randF32(n * T * hk * d, seed + 1, -2, 2), randF32(n * T * hk * d, seed + 2)];
  const ins = [Tensor.from(be, q, [n, T, hq, d]), Tensor.from(be, k, [n, T, hk, d]), Tensor.from(be, v, [n, T, hk, d])];
  const out = Tensor.empty(be, [n, T, hq, d], 'f32');
  const lse = Tensor.empty(be, [n, T, hq], 'f32');
  be.run(chunkEncoderAttentionForward, p, [...ins.map((x) => x.arg()), out.arg(), lse.arg()]);
  const [want, wantLse] = [new Float64Array(n * T * hq * d), new Float64Array(n * T * hq)];
  chunkEncoderAttentionForward.ref([toF64(q), toF64(k), toF64(v), want, wantLse], p);
  expectClose(await out.data(), want, attnTol(d, T), `out seed=${seed}`);
  expectClose(await lse.data(), wantLse, attnTol(d, T), `lse seed=${seed}`);
  for (const x of [...ins, out, lse]) x.dispose();
}

const VERSIONS: DenseVersion[] = ['v1', 'v2', 'v3', 'v4', 'v5'];
/** v4 and v5 (v4 with prefetched slices) take head sizes ≤ 64 only. */
const applies = (ver: DenseVersion, d: number) => (ver !== 'v4' && ver !== 'v5') || d <= 64;

describe.each(testBackends())('dense attention forward v1 / v2 on %s', (_name, makeBackend) => {
  it.each(
    VERSIONS.flatMap((ver) =>
      [
        [1, 1, 1, 64, 0],
        [1, 4, 1, 16, 3],
        [65, 1, 1, 64, 100],
        [130, 2, 2, 64, 0],
        [97, 4, 1, 16, 1],
        [70, 16, 1, 128, 40],
        [67, 6, 2, 33, 100],
        [45, 3, 1, 100, 7],
        [40, 16, 1, 64, 13],
        [33, 8, 2, 128, 32],
        [300, 1, 1, 64, 200],
        [131, 3, 1, 48, 130],
      ]
        .filter((c) => applies(ver, c[3]))
        .map((c) => [ver, ...c] as [DenseVersion, number, number, number, number, number]),
    ),
  )('%s swa T=%i hq=%i hk=%i d=%i window=%i', async (version, T, hq, hk, d, window) => {
    await checkSwa(await makeBackend(), { t: T, hq, hk, d, window, version });
  });

  it.each(
    VERSIONS.flatMap((ver) =>
      [
        [3, 65, 8, 2, 16],
        [2, 7, 2, 2, 64],
        [2, 33, 16, 1, 128],
        [1, 1, 1, 1, 64],
        [4, 31, 1, 1, 48],
        [3, 129, 2, 1, 64],
      ]
        .filter((c) => applies(ver, c[4]))
        .map((c) => [ver, ...c] as [DenseVersion, number, number, number, number, number]),
    ),
  )('%s chunkEncoder n=%i T=%i hq=%i hk=%i d=%i', async (version, n, T, hq, hk, d) => {
    await checkChunk(await makeBackend(), { n, t: T, hq, hk, d, version });
  });
});

describe.each(testBackends())('dense attention forward v4 / v5, row maxima by subgroup shuffles or through workgroup memory, on %s', (_name, makeBackend) => {
  it.each([
    ['v5', true, 130, 2, 2, 64, 0],
    ['v5', false, 130, 2, 2, 64, 0],
    ['v4', true, 67, 6, 2, 33, 100],
    ['v4', false, 67, 6, 2, 33, 100],
    ['v5', false, 300, 1, 1, 64, 200],
    ['v5', true, 1, 1, 1, 16, 0],
  ] as [DenseVersion, boolean, number, number, number, number, number][])('%s shuffles %s: swa T=%i hq=%i hk=%i d=%i window=%i', async (version, shuffleMax, T, hq, hk, d, window) => {
    const be = await makeBackend();
    const p = { t: T, hq, hk, d, window, version, shuffleMax };
    if (be.name === 'webgpu') expect(swaAttentionForward.program(p, be.caps).key.includes(':sg')).toBe(shuffleMax && be.caps.subgroups);
    await checkSwa(be, p);
  });
});

describe.each(testBackends())('dense attention forward v4 / v5 over 128- and 192-key tiles (8 × 8 or 8 × 12 score blocks, row partials in the P slice) on %s', (_name, makeBackend) => {
  it.each([
    ['v5', true, 130, 2, 2, 64, 129],
    ['v5', false, 300, 1, 1, 64, 200],
    ['v4', true, 67, 6, 2, 33, 100],
    ['v4', false, 257, 4, 1, 16, 300],
    ['v5', true, 1, 1, 1, 16, 0],
    ['v5', false, 45, 3, 1, 48, 7],
    ['v5', true, 200, 2, 1, 64, 250, 192],
  ] as [DenseVersion, boolean, number, number, number, number, number, KeyTileV4?][])('%s shuffles %s: swa T=%i hq=%i hk=%i d=%i window=%i keys %s', async (version, shuffleMax, T, hq, hk, d, window, keyTile = 128) => {
    const be = await makeBackend();
    const p = { t: T, hq, hk, d, window, version, shuffleMax, keyTile };
    if (be.name === 'webgpu') expect(swaAttentionForward.program(p, be.caps).key).toMatch(new RegExp(`:k${keyTile}$`));
    await checkSwa(be, p);
  });

  it('auto: 128-key tiles for windowed calls whose rows see ≥ 1024 keys, 64 for shorter ones and chunk blocks', async () => {
    const be = await makeBackend();
    if (be.name !== 'webgpu') return;
    const key = (p: Partial<{ t: number; window: number; keyTile: KeyTileV4 }>) => swaAttentionForward.program({ t: 4096, hq: 8, hk: 8, d: 64, window: 4096, ...p }, be.caps).key;
    expect(key({})).toMatch(/^denseAttentionV5:window:.*:k128$/);
    expect(key({ t: 1024, window: 1023 })).toMatch(/:k128$/);
    for (const p of [{ t: 1000 }, { window: 512 }, { keyTile: 64 as const }]) expect(key(p)).not.toMatch(/k128/);
    expect(key({ keyTile: 192 })).toMatch(/:k192$/);
    expect(() => key({ keyTile: 96 as KeyTileV4 })).toThrow(/64, 128, 192 or 256/);
    expect(chunkEncoderAttentionForward.program({ n: 512, t: 64, hq: 8, hk: 8, d: 64 }, be.caps).key).not.toMatch(/k128/);
  });

  it('chunk encoder blocks over 128-key tiles', async () => {
    await checkChunk(await makeBackend(), { n: 3, t: 129, hq: 2, hk: 1, d: 64, version: 'v5', keyTile: 128 });
  });
});
