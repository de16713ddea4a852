import { describe, expect, it } from 'vitest';
import { formatGridTable, gridToJson } from './format.js';
import { type GridProgress, runGrid } from './grid.js';
import { loadShakespeare } from './node.js';
import { TASKS } from './tasks.js';
import { wordTokenizer } from './test-utils/tokenizers.js';

const base = {
  tasks: [TASKS.niah_single_1, TASKS.niah_multiquery, TASKS.vt],
  lengths: [600, 1500],
  depths: [0, 50, 100],
  samples: 3,
  seed: 4,
  tokenizer: wordTokenizer(),
  corpus: loadShakespeare(),
};

describe('runGrid', () => {
  it('gives a solver that reads the answers 1.0 everywhere, and a constant solver 0', async () => {
    const cheat = await runGrid({ ...base, solve: async (s) => s.answers.join(' ') });
    expect(cheat.length).toBe(3 * 2 * 3);
    expect(cheat.every((r) => r.accuracy === 1 && r.n === 3)).toBe(true);
    expect(cheat[0].ciLow).toBeCloseTo(0.43849, 4); // Wilson 3/3
    const constant = await runGrid({ ...base, solve: async () => '1234567' });
    expect(constant.every((r) => r.accuracy === 0 && r.ciLow === 0)).toBe(true);
    expect(constant.map((r) => [r.task, r.length, r.depth])).toEqual(cheat.map((r) => [r.task, r.length, r.depth]));
  });

  it('scores partial answers, reports progress and throughput', async () => {
    const seen: GridProgress[] = [];
    const rows = await runGrid({
      ...base,
      tasks: [TASKS.niah_multiquery],
      depths: [50],
      solve: async (s) => ({ text: s.answers[0], seconds: s.length / 1000 }),
      onProgress: (p) => seen.push(p),
    });
    expect(rows.map((r) => r.accuracy)).toEqual([0.5, 0.5]);
    for (const r of rows) expect(r.tokensPerSecond).toBeCloseTo(1000, 9);
    expect(seen.map((p) => p.done)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen.every((p) => p.total === 6 && p.score === 0.5)).toBe(true);
    expect(seen[3].sample.length).toBe(1500);
  });

  it('stops when aborted and rejects an empty grid', async () => {
    const ctl = new AbortController();
    let calls = 0;
    const solve = async () => {
      if (++calls === 2) ctl.abort();
      return '';
    };
    await expect(runGrid({ ...base, signal: ctl.signal, solve })).rejects.toThrow();
    expect(calls).toBe(2);
    await expect(runGrid({ ...base, lengths: [], solve: async () => '' })).rejects.toThrow(/lengths/);
  });
});

describe('formatting', () => {
  const rows = [
    { task: 'niah_single_1', length: 4096, depth: 50, n: 10, accuracy: 0.5, ciLow: 0.236593, ciHigh: 0.763407, tokensPerSecond: 1234.4 },
    { task: 'vt', length: 16777216, depth: 0, n: 10, accuracy: 1, ciLow: 0.722467, ciHigh: 1, tokensPerSecond: null },
  ];

  it('prints an aligned text table', () => {
    expect(formatGridTable(rows)).toBe(
      [
        'task             length  depth   n  accuracy          95% CI  tok/s',
        'niah_single_1      4096     50  10     0.500  [0.237, 0.763]   1234',
        'vt             16777216      0  10     1.000  [0.722, 1.000]      -',
      ].join('\n'),
    );
  });

  it('writes JSON that reads back as the rows', () => {
    expect(JSON.parse(gridToJson(rows))).toEqual(rows);
  });
});
