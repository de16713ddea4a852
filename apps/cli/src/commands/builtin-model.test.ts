/**
 * Issue 8's CI assertion: the built-in model (models/builtin/) on the CPU backend finds the needle
 * of S-NIAH (held-out haystack, evaluation keys, 7-digit values) at small lengths with at least the
 * accuracy it reached when it was trained, so a regression in any package that breaks retrieval
 * fails CI. HSA_BUILTIN_MODEL=DIR points it at another directory (a candidate before committing it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_MODEL_DIR, runNeedle } from './needle.js';

const MODEL = process.env.HSA_BUILTIN_MODEL ?? BUILTIN_MODEL_DIR;
/**
 * Prompt lengths: 10 samples in all (5 depths × 2 lengths), sized for < 60 s on the 2-core CI
 * machine (the CPU backend runs the built-in model at ~100 tokens/s here, where the upper decoder
 * still sees every token; needle.ts, DEFAULT_LENGTH). At 512 tokens the needle at depths 0 and 25%
 * lies beyond the 256-token window, so retrieval has to find it; 1K and 2K take ~4× as long.
 */
const LENGTHS = ['256', '512'];
const DEPTHS = '0,25,50,75,100';
const SEED = 1;
/** the answer: a space and 7 digits */
const MAX_NEW_TOKENS = 8;
/** The accuracy the shipped model reached on exactly this run (set when the weights land). */
const MIN_ACCURACY = 0;

// Skipped while models/builtin is not committed; becomes unconditional once the model is in the repository.
describe.skipIf(!existsSync(join(MODEL, 'config.json')))('the built-in model', () => {
  it(`finds the needle at ${LENGTHS.join(' and ')} tokens on the CPU`, async () => {
    const scores: number[] = [];
    for (const length of LENGTHS) {
      const r = await runNeedle({ model: MODEL, backend: 'cpu', length, depths: DEPTHS, seed: SEED, maxNewTokens: MAX_NEW_TOKENS, progress: false, write: () => {} });
      scores.push(...r.samples.map((s) => s.score));
    }
    expect(scores).toHaveLength(10);
    const accuracy = scores.reduce((a, b) => a + b, 0) / scores.length;
    console.info(`built-in model: S-NIAH accuracy ${accuracy} at ${LENGTHS.join(', ')} tokens (scores ${scores.join(' ')})`);
    expect(accuracy).toBeGreaterThanOrEqual(MIN_ACCURACY);
  });
});
