/**
 * Recipes: the shipped ones parse (builtin.json within the 16 MiB bf16 budget, training context
 * ≤ 4K, a dense-retrieval warm-up first); each bad field is a RecipeError (E_BAD_CONFIG) naming it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parameterCount } from '@hsa/model';
import { describe, expect, it } from 'vitest';
import { parseRecipe, RecipeError, totalSteps } from './recipe.js';
import { readRecipe } from './runner.js';

const read = (name: string) => JSON.parse(readFileSync(new URL(`../../../../recipes/${name}`, import.meta.url), 'utf8'));

describe('recipes', () => {
  it('parses the shipped recipes; builtin.json fits 16 MiB of bf16 weights and trains ≤ 4K tokens, warm-up dense', () => {
    const tiny = parseRecipe(read('tiny.json'));
    expect(totalSteps(tiny)).toBeLessThanOrEqual(10);
    const builtin = parseRecipe(read('builtin.json'));
    const params = parameterCount(builtin.model);
    expect(builtin.dtype).toBe('bf16');
    expect(params * 2).toBeLessThanOrEqual(16 * 2 ** 20);
    expect(Math.max(...builtin.stages.map((s) => s.seqLen))).toBeLessThanOrEqual(4096);
    expect(builtin.stages[0].chunkTopk).toBe('all');
    expect(builtin.stages.at(-1)!.chunkTopk).not.toBe('all');
    expect(builtin.modelJson.enable_softmax).toBe(true);
    expect(builtin.modelJson.enable_qk_norm).toBe(true);
    expect(builtin.model.chunkSize).toBe(64);
  });

  it('every recipe under recipes/ (probes and variants included) resolves its extends chain and parses', async () => {
    const dir = fileURLToPath(new URL('../../../../recipes/', import.meta.url));
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) {
      const { recipe } = await readRecipe(`${dir}${f}`);
      expect(recipe.stages.length, f).toBeGreaterThan(0);
      // the built-in model's shape, except the tiny CI recipe: --init forks load each other's weights
      if (f !== 'tiny.json') expect(recipe.model.hidden, f).toBe(256);
    }
  });

  // biome-ignore lint/suspicious/noExplicitAny: each case edits the parsed recipe JSON at a different depth
  const cases: [string, (r: Record<string, any>) => void, string][] = [
    ['zero steps', (r) => (r.stages[0].steps = 0), 'stages[0].steps'],
    ['top-k 0', (r) => (r.stages[1].chunkTopk = 0), 'stages[1].chunkTopk'],
    ['unknown task', (r) => (r.stages[0].synthetic.tasks = ['nope']), 'stages[0].synthetic.tasks[0]'],
    ['fraction > 1', (r) => (r.stages[0].synthetic.fraction = 1.5), 'stages[0].synthetic.fraction'],
    ['masked loss typo', (r) => (r.stages[0].synthetic.loss = 'answers'), 'stages[0].synthetic.loss'],
    ['context over 4K', (r) => (r.stages[0].seqLen = 8192), 'stages[0].seqLen'],
    ['unknown stage field', (r) => (r.stages[0].window = 8), 'stages[0].window'],
    ['bad model field', (r) => (r.model.chunk_size = 60), 'model.chunk_size'],
    ['vocab mismatch', (r) => (r.tokenizer.vocabSize = 600), 'tokenizer.vocabSize'],
    ['negative lr', (r) => (r.optimizer.lr = -1), 'optimizer.lr'],
    ['missing seed', (r) => delete r.seed, 'seed'],
    ['bad dtype', (r) => (r.dtype = 'fp8'), 'dtype'],
    ['no stages', (r) => (r.stages = []), 'stages'],
    ['unknown root field', (r) => (r.stage = []), 'stage'],
  ];
  it.each(cases)('%s is a RecipeError naming the field', (_, mutate, field) => {
    const r = read('tiny.json');
    mutate(r);
    let err: unknown;
    try {
      parseRecipe(r);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RecipeError);
    expect(err).toMatchObject({ code: 'E_BAD_CONFIG', field });
    expect((err as Error).message).toContain(`recipe: ${field}:`);
  });
});
