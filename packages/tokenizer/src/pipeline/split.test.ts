import { describe, expect, it } from 'vitest';
import { type Behavior, splitSpan } from './split.js';

// The examples of the Rust library's documentation for SplitDelimiterBehavior.
const CASES: [Behavior, string[]][] = [
  ['Removed', ['the', 'final', 'countdown']],
  ['Isolated', ['the', '-', 'final', '-', '-', 'countdown']],
  ['MergedWithPrevious', ['the-', 'final-', '-', 'countdown']],
  ['MergedWithNext', ['the', '-final', '-', '-countdown']],
  ['Contiguous', ['the', '-', 'final', '--', 'countdown']],
];

describe('splitSpan', () => {
  it.each(CASES)('%s', (behavior, expected) => {
    const pieces = splitSpan({ text: 'the-final--countdown', base: 0, map: null }, /-/gu, behavior, false);
    expect(pieces.map((p) => p.text)).toEqual(expected);
    for (const p of pieces) expect('the-final--countdown'.slice(p.base, p.base + p.text.length)).toBe(p.text);
  });

  it('invert keeps the matches as the pieces', () => {
    const pieces = splitSpan({ text: 'ab  cd', base: 10, map: null }, /\p{L}+/gu, 'Removed', true);
    expect(pieces.map((p) => [p.text, p.base])).toEqual([['ab', 10], ['cd', 14]]);
  });
});
