/**
 * `hsa train` in-process on recipes/tiny.json (CPU): a run split in two commands (--steps, then
 * --resume) prints its progress lines and finishes; the output directory loads with loadModelDir
 * (bf16 weights as the recipe asks) and `hsa generate` runs on it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelDir } from '@hsa/model/node';
import { CpuBackend, SafetensorsFile } from '@hsa/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { runGenerate } from './generate.js';
import { runTrain } from './train.js';

const RECIPE = fileURLToPath(new URL('../../../../recipes/tiny.json', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'hsa-train-cmd-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('hsa train', () => {
  it('trains in two commands (--steps, then --resume); the directory loads and generates', async () => {
    let text = '';
    const write = (s: string) => (text += s);
    const first = await runTrain({ recipe: RECIPE, out, backend: 'cpu', steps: 4, progress: false, every: 2, write });
    expect(first).toMatchObject({ status: 'steps', step: 4 });
    expect(text).toMatch(/from scratch/);
    expect(text).toMatch(/step 2 \[warmup\] loss \d+\.\d+ lr/);
    expect(text).toMatch(/stopped \(steps\) after step 4 of 8; .*--resume/);
    const second = await runTrain({ recipe: RECIPE, out, backend: 'cpu', resume: true, progress: false, every: 2, write });
    expect(second.status).toBe('done');
    expect(text).toMatch(/resumed at step 4/);
    expect(text).toMatch(/step 6 \[pretrain\]/);
    expect(text).toMatch(/train loss \(step:mean\) 1:\d\.\d{3} 2:\d\.\d{3} .* 8:\d\.\d{3}\nheld-out loss \(step:loss\) 4:\d\.\d{3} 5:\d\.\d{3} 8:\d\.\d{3}\n/);

    const weights = SafetensorsFile.parse(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
    expect(new Set([...weights.tensors.values()].map((t) => t.dtype))).toEqual(new Set(['BF16']));
    const model = await loadModelDir(new CpuBackend(), out);
    expect(model.config.vocabSize).toBe(512);
    model.dispose();
    const g = await runGenerate({ model: out, prompt: 'ROMEO:\nWhat say you', maxNewTokens: 6, backend: 'cpu', write: () => {}, progress: false });
    expect(g.ids).toHaveLength(6);
    expect(g.text.length).toBeGreaterThan(0);

    // a run started from the trained model says so
    let forked = '';
    const fork = await runTrain({ recipe: RECIPE, out: join(out, 'fork'), backend: 'cpu', init: out, steps: 1, progress: false, write: (s) => (forked += s) });
    expect(fork).toMatchObject({ status: 'steps', step: 1 });
    expect(forked).toContain(`from the weights of ${out}, 8 steps`);
  }, 120_000);
});
