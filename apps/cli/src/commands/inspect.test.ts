/** `hsa inspect` on the golden model: sizes, the 9-layer stack, 1,526,864 parameters, all F32. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, vi } from 'vitest';
import { buildProgram } from '../program.js';
import { inspectModel } from './inspect.js';

const GOLDEN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/golden');
const opts = { config: resolve(GOLDEN, 'config_softmax.json') };

it('reports the golden model: layers, parameter counts per part and dtype', async () => {
  const r = await inspectModel(GOLDEN, opts);
  expect(r.layers).toHaveLength(9);
  expect(r.parameters.total).toBe(1_526_864);
  expect(r.parameters.byDtype).toEqual({ F32: 1_526_864 });
  expect(r.parameters.byPart['layers.4 HierarchicalSparseAttention']).toBeGreaterThan(0);
  expect(Object.values(r.parameters.byPart).reduce((a, b) => a + b, 0)).toBe(1_526_864);
  expect(r.unused).toEqual([]);
});

it('prints the summary through the command', async () => {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
  await buildProgram().parseAsync(['node', 'hsa', 'inspect', '--model', GOLDEN, '--config', opts.config]);
  log.mockRestore();
  const text = lines.join('\n');
  expect(text).toContain('parameters  1,526,864 (F32 1,526,864)');
  expect(text).toContain('2 × (retrieval, HSA, 1 SWA)');
  expect(text).toContain('softmax fusion');
});
