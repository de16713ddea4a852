/**
 * `hsa eval` in-process on the tiny random model: the grid has one row per task × length × depth
 * with n samples each, prompts of the exact length streamed into the model (prefill tokens/s
 * reported), every sample's answer kept (and in --json after each one), and bad task names or
 * lengths are typed errors.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../program.js';
import { tinyModelDir } from '../test-utils/tiny-model.js';
import { runEval } from './eval.js';

const dir = tinyModelDir();
/** a corpus of its own: 40 paragraphs (some land in the held-out split) */
const CORPUS = join(dir, 'corpus.txt');
writeFileSync(CORPUS, Array.from({ length: 40 }, (_, i) => `Paragraph ${i}: the river ran past mill ${i} and the miller counted ${i * 7} sacks.`).join('\n\n'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hsa eval', () => {
  it('runs tasks × lengths × depths × samples on the model and reports each cell', async () => {
    const seen: number[] = [];
    const r = await runEval({ model: dir, tasks: 'niah_single_1,vt', lengths: '600,900', depths: '0,100', samples: 2, maxNewTokens: 3, backend: 'cpu', progress: false, onSample: (s) => seen.push(s.length) });
    expect(seen).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(r.rows).toHaveLength(8);
    for (const row of r.rows) {
      expect(row.n).toBe(2);
      expect(row.accuracy).toBeGreaterThanOrEqual(0);
      expect(row.ciHigh).toBeGreaterThanOrEqual(row.ciLow);
      expect(row.tokensPerSecond).toBeGreaterThan(0);
      expect(row.needleChunkHit).toBeGreaterThanOrEqual(0);
    }
    expect(r.rows.map((x) => `${x.task}:${x.length}:${x.depth}`)).toContain('vt:900:100');
    // every sample with its question's answers and the model's words; the cells are their means
    expect(r.samples).toHaveLength(16);
    for (const row of r.rows) {
      const own = r.samples.filter((x) => x.task === row.task && x.length === row.length && x.depth === row.depth);
      expect(own.map((x) => x.index)).toEqual([0, 1]);
      expect(own.reduce((a, x) => a + x.score, 0) / own.length).toBeCloseTo(row.accuracy, 12);
      expect(own.filter((x) => x.needleChunkHit).length / own.length).toBeCloseTo(row.needleChunkHit, 12);
      for (const x of own) {
        expect(x.expected.length).toBeGreaterThan(0);
        expect(typeof x.prediction).toBe('string');
        expect(x.prefillSeconds).toBeGreaterThan(0);
      }
      expect(row.tokensPerSecond).toBeCloseTo((row.length * own.length) / own.reduce((a, x) => a + x.prefillSeconds, 0), 6);
    }
    const own = await runEval({ model: dir, tasks: 'niah_single_2', lengths: '600', depths: '50', samples: 1, maxNewTokens: 2, backend: 'cpu', progress: false, corpus: CORPUS });
    expect(own.rows).toHaveLength(1);
  }, 300_000);

  it('writes --json after every sample (complete: false), then the finished report (complete: true)', async () => {
    const out = join(dir, 'eval.json');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await buildProgram().parseAsync(['node', 'hsa', 'eval', '--model', dir, '--backend', 'cpu', '--tasks', 'niah_single_1', '--lengths', '600', '--depths', '0,100', '--samples', '1', '--max-new-tokens', '2', '--json', out]);
    } finally {
      log.mockRestore();
    }
    const r = JSON.parse(readFileSync(out, 'utf8'));
    expect(r).toMatchObject({ complete: true, backend: 'cpu' });
    expect(r.rows).toHaveLength(2);
    expect(r.samples.map((x: { depth: number }) => x.depth)).toEqual([0, 100]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rejects unknown tasks and malformed lengths', async () => {
    await expect(runEval({ model: dir, tasks: 'nope', backend: 'cpu', progress: false })).rejects.toThrow(/unknown task 'nope'/);
    await expect(runEval({ model: dir, lengths: '1x', backend: 'cpu', progress: false })).rejects.toThrow(/comma-separated numbers/);
  });
});
