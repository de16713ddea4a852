import { describe, expect, it } from 'vitest';
import { mergeIds } from './merge.js';
import { PairTable } from './pair-table.js';

/** The textbook loop: merge the lowest-ranked adjacent pair, leftmost first, until none is left. */
function naive(table: PairTable, ids: number[]): number[] {
  const w = ids.slice();
  for (;;) {
    let best = Infinity;
    let at = -1;
    for (let i = 0; i + 1 < w.length; i++) {
      const s = table.find(w[i], w[i + 1]);
      if (s >= 0 && table.ranks[s] < best) {
        best = table.ranks[s];
        at = i;
      }
    }
    if (at < 0) return w;
    w.splice(at, 2, table.results[table.find(w[at], w[at + 1])]);
  }
}

function randomTable(seed: number): PairTable {
  let s = seed;
  const rnd = (n: number) => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n;
  const t = new PairTable(400);
  for (let r = 0; r < 300; r++) t.set(rnd(12), rnd(12), r, 12 + rnd(12)); // results may merge again
  return t;
}

describe('mergeIds', () => {
  it.each([3, 10, 64, 65, 300, 5000])('equals the naive loop for words of %i symbols (short and heap paths)', (n) => {
    for (let seed = 1; seed <= 20; seed++) {
      const table = randomTable(seed);
      let s = seed * 7;
      const ids = Array.from({ length: n }, () => (s = (Math.imul(s, 69069) + 1) >>> 0) % 24);
      const buf = Int32Array.from(ids);
      const m = mergeIds(table, buf, n);
      expect(Array.from(buf.subarray(0, m))).toEqual(naive(table, ids));
    }
  });

  it('merges lengths alongside ids', () => {
    const t = new PairTable(4);
    t.set(1, 2, 0, 3);
    const ids = Int32Array.from([1, 2, 1]);
    const lens = Int32Array.from([1, 2, 4]);
    expect(mergeIds(t, ids, 3, lens)).toBe(2);
    expect(Array.from(lens.subarray(0, 2))).toEqual([3, 4]);
  });
});
