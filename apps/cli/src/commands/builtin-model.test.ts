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
import type { NeedleSample } from './needle-report.js';

const MODEL = process.env.HSA_BUILTIN_MODEL ?? BUILTIN_MODEL_DIR;
/**
 * Prompt lengths: 10 samples in all (5 depths × 2 lengths), ~60 s on the 2-core CI machine (the CPU
 * backend runs the built-in model at ~200 tokens/s prefill; needle.ts, DEFAULT_LENGTH). The model's
 * window is 256 tokens, so at 1K the needle at depths 0, 25 and 50% is out of its reach: only the
 * retrieved chunks carry it (16 chunks, top-8).
 */
const LENGTHS = ['512', '1024'];
const DEPTHS = '0,25,50,75,100';
const SEED = 1;
/** the answer: a space and 7 digits */
const MAX_NEW_TOKENS = 8;
/**
 * What the shipped model (recipes/builtin.json version 8) reached on exactly this run, 2026-11-29:
 * scores 1 1 1 1 0 at 512 and at 1K (depths 0..100%; at 100% it answers a digit off, see
 * docs/results.md), and in every sample some HSA layer weighs a needle chunk heaviest.
 */
const MIN_ACCURACY = 0.8;
const MIN_TOP1 = 10;

describe('the built-in model', () => {
  it(`finds the needle at ${LENGTHS.join(' and ')} tokens on the CPU`, async () => {
    expect(existsSync(join(MODEL, 'config.json')), `no model in ${MODEL}`).toBe(true);
    const samples: NeedleSample[] = [];
    for (const length of LENGTHS) {
      const r = await runNeedle({ model: MODEL, backend: 'cpu', length, depths: DEPTHS, seed: SEED, maxNewTokens: MAX_NEW_TOKENS, progress: false, write: () => {} });
      samples.push(...r.samples);
    }
    expect(samples).toHaveLength(10);
    const scores = samples.map((s) => s.score);
    const accuracy = scores.reduce((a, b) => a + b, 0) / scores.length;
    // retrieval itself: a needle chunk is the heaviest choice of at least one HSA layer
    const top1 = samples.filter((s) => s.layers.some((l) => l.chunks[0]?.needle)).length;
    console.info(`built-in model: S-NIAH accuracy ${accuracy} at ${LENGTHS.join(', ')} tokens (scores ${scores.join(' ')}), needle chunk first in ${top1}/10`);
    expect(accuracy).toBeGreaterThanOrEqual(MIN_ACCURACY);
    expect(top1).toBeGreaterThanOrEqual(MIN_TOP1);
  });
});
