/**
 * `hsa needle` in-process on the tiny random model on the CPU at a short length: a line per sample
 * and a summary are printed, the JSON holds the same report (Wilson interval of the accuracy, the
 * chunks each HSA layer retrieved with the needle's marked), bad flags are typed errors and a
 * missing model directory names its path.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { wilson } from '@hsa/tasks';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../program.js';
import { tinyModelDir } from '../test-utils/tiny-model.js';
import { BUILTIN_MODEL_DIR, chooseBackend, runNeedle } from './needle.js';

const dir = tinyModelDir();
const JSON_OUT = join(dir, 'needle.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hsa needle', () => {
  it('runs S-NIAH over the depths and prints and writes the report', async () => {
    const lines: string[] = [];
    const r = await runNeedle({ model: dir, backend: 'cpu', length: '600', depths: '0,50,100', maxNewTokens: 4, json: JSON_OUT, progress: false, write: (s) => lines.push(s) });
    expect(r.samples.map((s) => s.depth)).toEqual([0, 50, 100]);
    expect(r).toMatchObject({ backend: 'cpu', task: 'niah_single_2', length: 600, samplesPerDepth: 1, seed: 1 });
    for (const s of r.samples) {
      expect(s.expected[0]).toMatch(/^\d{7}$/);
      expect(s.tokensPerSecond).toBeGreaterThan(0);
      // 600 tokens hold 9 complete chunks of 64; the tiny model's one HSA layer chose some of them
      expect(s.layers).toHaveLength(1);
      expect(s.layers[0].chunks.length).toBeGreaterThan(0);
      expect(s.needleRetrieved).toBe(s.layers[0].chunks.some((c) => s.needleChunks.includes(c.chunk)));
    }
    const { n, accuracy, ciLow, ciHigh } = r.summary;
    expect(n).toBe(3);
    expect({ low: ciLow, high: ciHigh }).toEqual(wilson(accuracy, 3));
    expect(r.summary.needleRetrievalRate).toBe(r.samples.filter((s) => s.needleRetrieved).length / 3);
    // header, a line per sample, three summary lines
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatch(/^depth {3}0% #0 {2}expected \d{7} {2}answer ".*" [✔✘~] {2}[\d.]+ tok\/s {2}chunks L\d+: /);
    for (const [i, s] of r.samples.entries()) expect(lines[1 + i].includes('*')).toBe(s.needleRetrieved);
    expect(lines[4]).toContain('95% Wilson interval');
    expect(JSON.parse(readFileSync(JSON_OUT, 'utf8'))).toEqual(JSON.parse(JSON.stringify(r)));
  });

  it('runs as a command and exits 0 whatever the accuracy', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await buildProgram().parseAsync(['node', 'hsa', 'needle', '--model', dir, '--backend', 'cpu', '--length', '600', '--depths', '100', '--max-new-tokens', '2']);
    const printed = log.mock.calls.map((c) => String(c[0]));
    log.mockRestore();
    expect(printed.at(-1)).toMatch(/^accuracy [\d.]+ \([01]\/1\)/);
  });

  it('rejects bad flags with typed errors', async () => {
    const run = (o: Parameters<typeof runNeedle>[0]) => runNeedle({ model: dir, backend: 'cpu', progress: false, write: () => {}, ...o });
    await expect(run({ backend: 'tpu' })).rejects.toMatchObject({ code: 'E_ARGUMENT', message: expect.stringMatching(/--backend must be cpu, webgpu or auto/) });
    await expect(run({ length: '1x' })).rejects.toMatchObject({ code: 'E_ARGUMENT', message: expect.stringMatching(/--length must be/) });
    await expect(run({ length: '1k,2k' })).rejects.toThrow(/one length/);
    await expect(run({ samples: 0 })).rejects.toThrow(/--samples must be a positive integer/);
    await expect(run({ samples: Number('x') })).rejects.toMatchObject({ code: 'E_ARGUMENT' });
    await expect(run({ task: 'nope' })).rejects.toThrow(/unknown task 'nope'/);
    await expect(run({ depths: '0,150' })).rejects.toThrow(/--depths are percentages in 0..100/);
    await expect(run({ length: '100' })).rejects.toMatchObject({ code: 'E_TOO_SHORT' });
  });

  it('names a missing model directory, and finds the built-in one at the repository root', async () => {
    const missing = join(dir, 'no-such-model');
    await expect(runNeedle({ model: missing, backend: 'cpu' })).rejects.toMatchObject({ code: 'E_BAD_CHECKPOINT', message: expect.stringContaining(missing) });
    expect(BUILTIN_MODEL_DIR.endsWith(join('models', 'builtin'))).toBe(true);
    expect(existsSync(join(BUILTIN_MODEL_DIR, '..', '..', 'pnpm-workspace.yaml'))).toBe(true);
    if (!existsSync(join(BUILTIN_MODEL_DIR, 'config.json'))) {
      await expect(runNeedle({ backend: 'cpu' })).rejects.toThrow(/built-in model is not in this checkout; pass --model DIR/);
    }
  });

  it('auto takes WebGPU on a hardware adapter, else the CPU', async () => {
    const c = await chooseBackend('auto');
    const software = c.backend.name === 'webgpu' && c.backend.report().software === true;
    c.backend.destroy();
    expect(software).toBe(false);
    expect(c.kind).toBe(c.backend.name === 'webgpu' ? 'gpu' : 'cpu');
  });
});
