// Scoring as RULER's string_match_all: the fraction of expected strings found in the prediction,
// case-insensitively. Aggregates carry a Wilson 95% score interval.
import { check } from './errors.js';

/** Fraction (0..1) of `expected` strings contained in `prediction`, ignoring case. */
export function score(prediction: string, expected: readonly string[]): number {
  check(expected.length > 0, 'expected', 'at least one string', expected);
  const pred = prediction.toLowerCase();
  let found = 0;
  for (const e of expected) if (pred.includes(e.toLowerCase())) found++;
  return found / expected.length;
}

/** The 97.5% quantile of the standard normal, for 95% two-sided intervals. */
export const Z95 = 1.959963984540054;

/**
 * The Wilson score interval of a proportion `p` measured on `n` trials (z = 1.96 by default):
 * (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n). For n = 0 it is [0, 1].
 */
export function wilson(p: number, n: number, z = Z95): { low: number; high: number } {
  check(p >= 0 && p <= 1, 'p', 'a proportion in 0..1', p);
  check(Number.isInteger(n) && n >= 0, 'n', 'a non-negative integer', n);
  if (n === 0) return { low: 0, high: 1 };
  const z2 = z * z;
  const center = p + z2 / (2 * n);
  const half = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const denom = 1 + z2 / n;
  // At p = 0 (p = 1) the bound is 0 (1) exactly; the formula only reaches it up to rounding.
  return { low: p === 0 ? 0 : (center - half) / denom, high: p === 1 ? 1 : (center + half) / denom };
}

/** Mean score of a cell with its Wilson 95% interval. */
export interface Aggregate {
  n: number;
  accuracy: number;
  ciLow: number;
  ciHigh: number;
}

/**
 * Mean of the scores with a Wilson 95% interval over n = scores.length. Exact for 0/1 scores; for
 * fractional ones (several expected strings) it treats the mean as a proportion of n samples.
 */
export function aggregate(scores: readonly number[]): Aggregate {
  const n = scores.length;
  const accuracy = n === 0 ? 0 : Math.min(1, scores.reduce((a, b) => a + b, 0) / n); // min: rounding of fractions
  const { low, high } = wilson(accuracy, n);
  return { n, accuracy, ciLow: low, ciHigh: high };
}
