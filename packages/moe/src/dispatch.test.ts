import { MOE_TILE_M } from '@hsa/kernels';
import { Tensor } from '@hsa/tensor';
import { freshSeed, rng, testBackends } from '@hsa/tensor/test-utils';
import { describe, expect, it } from 'vitest';
import { expertLoad } from './balance.js';
import { dispatch } from './ops.js';

/** Stable sort oracle: assignments grouped by expert, increasing assignment index within one. */
function oracle(idx: number[], E: number) {
  const perm = idx.map((_, a) => a).sort((a, b) => idx[a] - idx[b] || a - b);
  const counts = Array.from({ length: E }, (_, e) => idx.filter((v) => v === e).length);
  const offsets = [0];
  const tiles = [0];
  for (let e = 0; e < E; e++) {
    offsets.push(offsets[e] + counts[e]);
    tiles.push(tiles[e] + Math.ceil(counts[e] / MOE_TILE_M));
  }
  return { perm, offsets, tiles, counts };
}

describe.each(testBackends())('moe dispatch on %s', (_name, make) => {
  // (tokens, k, experts, experts that receive tokens): one token, several sort blocks, idle experts
  it.each([
    [1, 1, 1, 1],
    [1, 4, 64, 64],
    [37, 3, 7, 7],
    [701, 3, 13, 5],
    [2053, 4, 64, 3],
    [613, 8, 256, 256],
  ])('T=%i k=%i E=%i (%i used) sorts stably by expert', async (T, k, E, used) => {
    const b = await make();
    const seed = freshSeed();
    const r = rng(seed);
    const idx = Array.from({ length: T * k }, () => Math.floor(r() * used) * Math.floor(E / used));
    const d = dispatch(Tensor.from(b, idx, [T, k], 'i32'), E);
    const want = oracle(idx, E);
    expect(Array.from(await d.perm.data()), `perm seed=${seed}`).toEqual(want.perm);
    expect(Array.from(await d.offsets.data()), `offsets seed=${seed}`).toEqual(want.offsets);
    expect(Array.from(await d.tileStart.data()), `tiles seed=${seed}`).toEqual(want.tiles);
    expect(Array.from(await expertLoad(d.offsets))).toEqual(want.counts);
  });

  it('handles zero tokens', async () => {
    const b = await make();
    const d = dispatch(Tensor.empty(b, [0, 4], 'i32'), 5);
    expect(Array.from(await d.offsets.data())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(await d.tileStart.data())).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
