import { describe, expect, it } from 'vitest';
import { TaskError } from './errors.js';
import { aggregate, score, wilson } from './score.js';

describe('score (RULER string_match_all)', () => {
  it.each([
    ['The special magic number is 1234567.', ['1234567'], 1],
    ['the answer: 1234567', ['7654321'], 0],
    ['', ['1234567'], 0],
    ['ABCDE, FGHIJ and klmno', ['abcde', 'FGHIJ', 'KLMNO', 'PQRST'], 0.75], // case-insensitive, 3 of 4
    ['1234567 1234567', ['1234567', '2345678'], 0.5], // a repeated answer counts once
    ['123456', ['1234567'], 0], // a prefix is not the answer
    ['x12345678x', ['1234567'], 1], // substring, as RULER (no word boundaries)
  ])('%j against %j → %d', (prediction, expected, want) => {
    expect(score(prediction, expected)).toBe(want);
  });

  it('needs at least one expected string', () => {
    expect(() => score('x', [])).toThrow(TaskError);
  });
});

describe('wilson', () => {
  // Reference values from the closed form evaluated in float64 (python), matching published tables.
  it.each([
    [0.5, 10, 0.236593090512564, 0.763406909487436],
    [0, 10, 0, 0.2775327998628892],
    [1, 10, 0.7224672001371106, 1],
    [0.9, 100, 0.8256343384950866, 0.9447708629393249],
    [0.25, 4, 0.045587260809700575, 0.6993581574175981],
  ])('p=%d n=%d → [%d, %d]', (p, n, low, high) => {
    const ci = wilson(p, n);
    expect(ci.low).toBeCloseTo(low, 12);
    expect(ci.high).toBeCloseTo(high, 12);
  });

  it('is [0, 1] without trials and rejects bad input', () => {
    expect(wilson(0, 0)).toEqual({ low: 0, high: 1 });
    expect(() => wilson(1.5, 3)).toThrow(TaskError);
    expect(() => wilson(0.5, 2.5)).toThrow(TaskError);
  });
});

describe('aggregate', () => {
  it('averages scores and attaches the interval', () => {
    const a = aggregate([1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
    expect(a.n).toBe(10);
    expect(a.accuracy).toBe(0.5);
    expect(a.ciLow).toBeCloseTo(0.236593090512564, 12);
    expect(a.ciHigh).toBeCloseTo(0.763406909487436, 12);
  });

  it('keeps a mean of fractional scores within [0, 1]', () => {
    expect(aggregate(Array(9).fill(1 / 3).concat([1, 1, 1])).accuracy).toBeCloseTo(0.5, 15);
    expect(aggregate(Array(30).fill(1)).accuracy).toBe(1);
    expect(aggregate([]).n).toBe(0);
  });
});
