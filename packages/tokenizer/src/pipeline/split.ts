// Splitting a span by a pattern with the five delimiter behaviors of the Rust `tokenizers`
// (NormalizedString::split): Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous.
import { unsupported } from '../errors.js';
import { slice, type Span } from './span.js';

/** How matched delimiters are kept when splitting. */
export type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: Behavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/** Checks a behavior name from tokenizer.json. */
export function parseBehavior(v: unknown, field: string): Behavior {
  if (typeof v === 'string' && (BEHAVIORS as string[]).includes(v)) return v as Behavior;
  return unsupported(field, v, BEHAVIORS);
}

type Run = [number, number, boolean]; // [start, end, isDelimiter]

/** Alternating runs of non-matches and matches over `text` (empty matches skipped). */
export function findRuns(text: string, re: RegExp, invert: boolean): Run[] {
  const runs: Run[] = [];
  let prev = 0;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    const end = m.index + m[0].length;
    if (end === m.index) continue;
    if (m.index > prev) runs.push([prev, m.index, invert]);
    runs.push([m.index, end, !invert]);
    prev = end;
  }
  if (prev < text.length) runs.push([prev, text.length, invert]);
  return runs;
}

/** Applies a behavior to runs; returns the [start, end) ranges to keep. */
export function applyBehavior(runs: Run[], behavior: Behavior): [number, number][] {
  const out: [number, number][] = [];
  let prevMatch = false;
  switch (behavior) {
    case 'Removed':
      for (const [a, b, m] of runs) if (!m) out.push([a, b]);
      return out;
    case 'Isolated':
      for (const [a, b] of runs) out.push([a, b]);
      return out;
    case 'Contiguous':
      for (const [a, b, m] of runs) {
        if (out.length > 0 && m === prevMatch) out[out.length - 1][1] = b;
        else out.push([a, b]);
        prevMatch = m;
      }
      return out;
    case 'MergedWithPrevious':
      for (const [a, b, m] of runs) {
        if (out.length > 0 && m && !prevMatch) out[out.length - 1][1] = b;
        else out.push([a, b]);
        prevMatch = m;
      }
      return out;
    case 'MergedWithNext':
      for (let i = runs.length - 1; i >= 0; i--) {
        const [a, b, m] = runs[i];
        if (out.length > 0 && m && !prevMatch) out[out.length - 1][0] = a;
        else out.push([a, b]);
        prevMatch = m;
      }
      return out.reverse();
  }
}

/** Splits a span; empty pieces are dropped, as in the Rust library. */
export function splitSpan(span: Span, re: RegExp, behavior: Behavior, invert: boolean): Span[] {
  if (span.text.length === 0) return [];
  const ranges = applyBehavior(findRuns(span.text, re, invert), behavior);
  const out: Span[] = [];
  for (const [a, b] of ranges) if (b > a) out.push(slice(span, a, b));
  return out;
}
