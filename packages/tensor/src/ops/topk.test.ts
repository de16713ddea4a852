import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { expectClose, freshSeed, rng, testBackends } from '../test-utils/index.js';
import { argmax, topk } from './topk.js';

/** Independent oracle: full sort of each row by (NaN last, value desc, index asc) in float64. */
function oracle(x: Float32Array, n: number, k: number): { values: number[]; indices: number[] } {
  const values: number[] = [];
  const indices: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = Array.from(x.subarray(r * n, r * n + n));
    const order = row.map((_, i) => i);
    order.sort((a, b) => {
      const na = Number.isNaN(row[a]);
      const nb = Number.isNaN(row[b]);
      if (na !== nb) return na ? 1 : -1;
      if (!na && row[a] !== row[b]) return row[b] > row[a] ? 1 : -1;
      return a - b;
    });
    for (const i of order.slice(0, k)) {
      values.push(row[i]);
      indices.push(i);
    }
  }
  return { values, indices };
}

/** Values with many ties (a few levels) plus, optionally, −∞, NaN, ±0 and ±∞ sprinkled in. */
function tiedRows(count: number, seed: number, special: boolean): Float32Array {
  const r = rng(seed);
  const levels = [Number.NEGATIVE_INFINITY, Number.NaN, -0, 0, Number.POSITIVE_INFINITY, -3e38, 1e-40];
  return Float32Array.from({ length: count }, () => {
    if (special && r() < 0.1) return levels[Math.floor(r() * levels.length)];
    return Math.round((r() - 0.5) * 16) / 4;
  });
}

describe.each(testBackends())('topk on %s', (_name, make) => {
  const cases: [number, number, number[]][] = [
    [1, 1, [1]],
    [3, 7, [1, 3, 7]],
    [300, 13, [1, 5, 13]],
    [4, 2047, [1, 256]],
    [3, 4099, [2, 100]],
    [2, 100_003, [1, 64, 256]],
  ];
  it.each(cases)('rows=%i n=%i matches a full sort, ties by lower index', async (rows, n, ks) => {
    const b = await make();
    for (const special of [false, true]) {
      const seed = freshSeed();
      const x = tiedRows(rows * n, seed, special);
      const t = Tensor.from(b, x, [rows, n]);
      for (const k of ks) {
        const label = `rows=${rows} n=${n} k=${k} special=${special} seed=${seed}`;
        const { values, indices } = topk(t, k);
        expect(values.shape).toEqual([rows, k]);
        const want = oracle(x, n, k);
        expect(Array.from(await indices.data()), `${label} indices`).toEqual(want.indices);
        expectClose(await values.data(), want.values, 0, label);
        values.dispose();
        indices.dispose();
      }
      t.dispose();
    }
  });

  it('argmax picks the lowest index among ties and keeps the leading shape', async () => {
    const b = await make();
    const seed = freshSeed();
    const x = tiedRows(2 * 3 * 1001, seed, true);
    const t = Tensor.from(b, x, [2, 3, 1001]);
    const am = argmax(t);
    expect(am.shape).toEqual([2, 3]);
    expect(Array.from(await am.data()), `seed=${seed}`).toEqual(oracle(x, 1001, 1).indices);
    const allNeg = Tensor.from(b, [Number.NaN, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY], [3]);
    const a2 = argmax(allNeg);
    expect(Array.from(await a2.data())).toEqual([1]);
    for (const u of [t, am, allNeg, a2]) u.dispose();
  });

  it('rejects k out of range with a typed error naming the shape', async () => {
    const b = await make();
    const t = Tensor.from(b, new Float32Array(2 * 300), [2, 300]);
    expect(() => topk(t, 301)).toThrow(/topk: k=301 .*\[2, 300\]/);
    expect(() => topk(t, 257)).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
    expect(() => topk(t, 0)).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
    const i = Tensor.from(b, [1, 2], [2], 'i32');
    expect(() => topk(i, 1)).toThrow(expect.objectContaining({ code: 'E_DTYPE' }));
    t.dispose();
    i.dispose();
  });
});
