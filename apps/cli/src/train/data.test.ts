/**
 * The data pipeline: a batch is a pure function of (seed, step); a retrieval sequence is the prompt
 * followed by its answer, seqLen tokens with next-token targets, masked to the answer on request.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TASKS } from '@hsa/tasks';
import { Rng } from '@hsa/tasks';
import { beforeAll, describe, expect, it } from 'vitest';
import { answerText, IGNORE, makeBatch, prepareData, retrievalSequence, type TrainData } from './data.js';
import { parseRecipe, type Recipe } from './recipe.js';

const path = fileURLToPath(new URL('../../../../recipes/tiny.json', import.meta.url));
let recipe: Recipe;
let data: TrainData;
beforeAll(async () => {
  recipe = parseRecipe(JSON.parse(readFileSync(path, 'utf8')));
  data = await prepareData(recipe, dirname(path));
});

describe('training data', () => {
  it('draws the same batch for the same (seed, step) and another for another step', () => {
    const stage = recipe.stages[0];
    const a = makeBatch(data, stage, 3).map((s) => Array.from(s.ids));
    expect(makeBatch(data, stage, 3).map((s) => Array.from(s.ids))).toEqual(a);
    expect(makeBatch(data, stage, 4).map((s) => Array.from(s.ids))).not.toEqual(a);
    for (const s of makeBatch(data, stage, 3)) {
      expect(s.ids).toHaveLength(stage.seqLen);
      expect(s.targets).toHaveLength(stage.seqLen);
      expect(Array.from(s.targets).slice(0, -1)).toEqual(Array.from(s.ids).slice(1));
    }
  });

  it('ends a retrieval sequence with the answer; "answer" loss keeps only the answer targets', () => {
    const stage = { ...recipe.stages[0], synthetic: { ...recipe.stages[0].synthetic, loss: 'answer' as const } };
    const s = retrievalSequence(data, stage, TASKS.niah_single_1, Rng.from(1));
    const ids = Array.from(s.ids);
    const targets = Array.from(s.targets);
    const kept = targets.filter((t) => t !== IGNORE);
    expect(ids).toHaveLength(stage.seqLen);
    const text = data.tokenizer.decode(kept);
    expect(text).toMatch(/^ \d+\.\n$/);
    expect(text).toBe(answerText([text.trim().slice(0, -1)]));
    // the answer's value is in the prompt (the needle), and the question precedes the answer
    expect(data.tokenizer.decode(ids)).toContain(`is: ${text.trim().slice(0, -1)}.`);
    expect(targets.slice(0, stage.seqLen - kept.length).every((t) => t === IGNORE)).toBe(true);
  });

  it('with synthetic.weight, retrieval sequences carry that weight and text windows 1; without, none', () => {
    const stage = { ...recipe.stages[0], synthetic: { ...recipe.stages[0].synthetic, fraction: 0.5, weight: 4 } };
    const batch = Array.from({ length: 6 }, (_, k) => makeBatch(data, stage, k)).flat();
    const weights = new Set(batch.map((q) => q.weight));
    expect(weights).toEqual(new Set([1, 4]));
    for (const q of batch) {
      const answerOnly = Array.from(q.targets).some((t) => t === IGNORE);
      if (q.weight === 4) expect(data.tokenizer.decode(Array.from(q.ids))).toContain('?');
      else expect(answerOnly).toBe(false);
    }
    expect(makeBatch(data, recipe.stages[0], 0).every((q) => q.weight === undefined)).toBe(true);
  });
});
