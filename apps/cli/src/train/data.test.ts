/**
 * The data pipeline: a batch is a pure function of (seed, step); a retrieval sequence is the prompt
 * followed by its answer, seqLen tokens with next-token targets, masked to the answer on request.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainSequence } from '@hsa/model';
import { TASKS } from '@hsa/tasks';
import { Rng } from '@hsa/tasks';
import { beforeAll, describe, expect, it } from 'vitest';
import { answerText, IGNORE, makeBatch, prepareData, retrievalSequence, type TrainData } from './data.js';
import { COPY_TASK, COPY_TEXT_TASK, INDUCTION_FAR_TASK, INDUCTION_KEYED_TASK, INDUCTION_NEAR_TASK, INDUCTION_TASK, parseRecipe, SELF_COPY_TASK, type Recipe } from './recipe.js';

const path = fileURLToPath(new URL('../../../../recipes/tiny.json', import.meta.url));

/** A sequence's seqLen + 1 tokens: its inputs and its last target. */
const tokensOf = (s: TrainSequence): number[] => [...Array.from(s.ids), Array.from(s.targets).at(-1)!];
/** The target indices that carry loss. */
const keptOf = (s: TrainSequence): number[] => Array.from(s.targets).flatMap((t, i) => (t === IGNORE ? [] : [i]));
/** The smallest distance d in [lo, hi] at which target i repeats: the same token after the same token. */
const copyDistance = (all: readonly number[], i: number, lo: number, hi: number): number | undefined =>
  Array.from({ length: hi - lo + 1 }, (_, j) => j + lo).find((d) => all[i + 1 - d] === all[i + 1] && all[i - d] === all[i]);
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

  it('a copy sequence repeats a random span after a text window; "answer" loss keeps only its predictable tokens', () => {
    const stage = { ...recipe.stages[0], synthetic: { ...recipe.stages[0].synthetic, loss: 'answer' as const } };
    const s = retrievalSequence(data, stage, COPY_TASK, Rng.from(3));
    const L = stage.seqLen;
    const m = Math.floor(L / 4);
    const all = tokensOf(s);
    expect(all).toHaveLength(L + 1);
    const span = all.slice(L + 1 - m);
    expect(span.every((t) => t >= data.specialTokens && t < data.vocabSize)).toBe(true);
    // the span occurs earlier, ending at most where the repeat starts
    const first = Array.from({ length: L + 2 - 2 * m }, (_, p) => p).filter((p) => all.slice(p, p + m).join() === span.join());
    expect(first).toHaveLength(1);
    const kept = keptOf(s);
    expect(kept).toEqual(Array.from({ length: m - 1 }, (_, k) => L + 1 - m + k));
    for (const i of kept) expect(all[i + 1]).toBe(all[i + 1 - (L + 1 - m) + first[0]]);
    // the distance between the copies varies (from m to L - m)
    const gaps = Array.from({ length: 40 }, (_, k) => {
      const q = retrievalSequence(data, stage, COPY_TASK, Rng.from(100 + k));
      const a = tokensOf(q);
      const tail = a.slice(L + 1 - m).join();
      return L + 1 - m - Array.from({ length: L + 2 - 2 * m }, (_, p) => p).find((p) => a.slice(p, p + m).join() === tail)!;
    });
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(m);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(L + 1 - m);
    expect(new Set(gaps).size).toBeGreaterThan(30);
    // copy_text: the span is a window of the training text, repeated likewise
    const t = retrievalSequence(data, stage, COPY_TEXT_TASK, Rng.from(5));
    const tAll = tokensOf(t);
    const tSpan = tAll.slice(L + 1 - m);
    expect(data.tokens.join(',')).toContain(tSpan.join(','));
    expect(Array.from({ length: L + 2 - 2 * m }, (_, p) => p).some((p) => tAll.slice(p, p + m).join() === tSpan.join())).toBe(true);
  });

  it('an induction sequence packs copy episodes, near and beyond the window; "answer" loss keeps each repeat but its first token', () => {
    const stage = { ...recipe.stages[0], synthetic: { ...recipe.stages[0].synthetic, loss: 'answer' as const } };
    const L = stage.seqLen;
    const distances: number[] = [];
    for (let k = 0; k < 20; k++) {
      const s = retrievalSequence(data, stage, INDUCTION_TASK, Rng.from(200 + k));
      const all = tokensOf(s);
      expect(all).toHaveLength(L + 1);
      const kept = keptOf(s);
      expect(kept.length).toBeGreaterThan(0);
      for (const i of kept) {
        expect(s.targets[i]).toBe(all[i + 1]);
        expect(data.characters).toContain(all[i + 1]);
        // an earlier copy at least a span (8) back
        const d = copyDistance(all, i, 8, i);
        expect(d, `target ${i}`).toBeDefined();
        distances.push(d!);
      }
    }
    expect(data.characters.length).toBeGreaterThan(90);
    expect(Math.min(...distances)).toBeLessThanOrEqual(32);
    expect(Math.max(...distances)).toBeGreaterThan(64);
    // induction_near: every repeat within 16 + 8 tokens, all of the sequence but its tail in episodes
    const near = retrievalSequence(data, stage, INDUCTION_NEAR_TASK, Rng.from(300));
    const all = tokensOf(near);
    const kept = keptOf(near);
    expect(kept.length).toBeGreaterThan(L / 3);
    for (const i of kept) expect(copyDistance(all, i, 8, 24), `target ${i}`).toBeDefined();
    // induction_far: every repeat 80–224 tokens after its first copy (span 16–32 + gap 64–192), none nearer
    const far = retrievalSequence(data, stage, INDUCTION_FAR_TASK, Rng.from(301));
    const fAll = tokensOf(far);
    const fKept = keptOf(far);
    expect(fKept.length).toBeGreaterThan(0);
    for (const i of fKept) {
      const d = copyDistance(fAll, i, 8, i);
      expect(d, `target ${i}`).toBeGreaterThanOrEqual(64);
      expect(d).toBeLessThanOrEqual(224);
    }
    // induction_keyed: each span led by a key (a multi-character token) used once per sequence; every
    // kept target lies 73–209 tokens after its first copy (key + span of 8–16, gap 64–192), the span's
    // first token (right after the repeated key) included
    expect(new Set(data.keys).size).toBe(data.keys.length);
    for (const k of data.keys) {
      expect(data.characters).not.toContain(k);
      expect(data.tokenizer.decode([k]).length).toBeGreaterThan(1);
    }
    const keyed = retrievalSequence(data, { ...stage, seqLen: 2048 }, INDUCTION_KEYED_TASK, Rng.from(302));
    const kAll = tokensOf(keyed);
    const kKept = keptOf(keyed);
    const keyAt = kAll.flatMap((t, i) => (data.keys.includes(t) ? [i] : []));
    const used = keyAt.map((i) => kAll[i]);
    expect(used.length).toBeGreaterThan(10);
    expect(used.length % 2).toBe(0);
    // each key twice (first copy, repeat), in episodes that do not interleave
    expect(used).toEqual(used.flatMap((k, j) => (j % 2 === 0 ? [k, k] : [])));
    expect(new Set(used).size).toBe(used.length / 2);
    for (let j = 1; j < keyAt.length; j += 2) expect(kKept).toContain(keyAt[j]); // the key's repeat predicts the span's first token
    for (const i of kKept) {
      expect(data.characters).toContain(kAll[i + 1]);
      expect(copyDistance(kAll, i, 73, 209), `target ${i}`).toBeDefined();
      expect(copyDistance(kAll, i, 8, 72), `target ${i}`).toBeUndefined();
    }
  });

  it('a self_copy sequence is x ++ x: every kept target lies exactly seqLen/2 after its source', () => {
    const answer = { ...recipe.stages[0].synthetic, loss: 'answer' as const };
    for (const L of [128, 255, 3]) {
      const s = retrievalSequence(data, { ...recipe.stages[0], seqLen: L, synthetic: answer }, SELF_COPY_TASK, Rng.from(400 + L));
      const all = tokensOf(s);
      expect(all).toHaveLength(L + 1);
      const m = Math.ceil((L + 1) / 2);
      for (let i = m; i <= L; i++) expect(all[i]).toBe(all[i - m]);
      for (const t of all) expect(data.characters).toContain(t);
      // the repeat's predictable tokens: all but its first, each predicted from the token m − 1 back
      expect(keptOf(s)).toEqual(Array.from({ length: L - m + 1 }, (_, j) => m + j).filter((i) => i < L));
      for (const i of keptOf(s)) expect(s.targets[i]).toBe(all[i + 1 - m]);
    }
    // "all" loss keeps every target
    const every = retrievalSequence(data, { ...recipe.stages[0], seqLen: 64 }, SELF_COPY_TASK, Rng.from(9));
    expect(keptOf(every)).toHaveLength(64);
  });
});
