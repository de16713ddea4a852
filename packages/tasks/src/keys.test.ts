import { describe, expect, it } from 'vitest';
import { drawKey, drawUuid, drawValue, drawVarName, keySplit } from './keys.js';
import { Rng } from './rng.js';
import { generateSample } from './sample.js';
import { niah } from './tasks.js';
import { charTokenizer } from './test-utils/tokenizers.js';
import { ADJECTIVES, NOUNS } from './words.js';

describe('keys', () => {
  it('splits every key into exactly one of train / eval, about 20% eval', () => {
    const all = ADJECTIVES.flatMap((a) => NOUNS.map((n) => `${a}-${n}`));
    const evalKeys = all.filter((k) => keySplit(k) === 'eval');
    expect(evalKeys.length / all.length).toBeGreaterThan(0.18);
    expect(evalKeys.length / all.length).toBeLessThan(0.22);
  });

  it('draws training keys and evaluation keys from disjoint sets', () => {
    const rng = new Rng(7);
    const train = new Set<string>();
    const evalSet = new Set<string>();
    for (let i = 0; i < 2000; i++) drawKey(rng, 'train', train);
    for (let i = 0; i < 1000; i++) drawKey(rng, 'eval', evalSet);
    expect([...train].every((k) => keySplit(k) === 'train')).toBe(true);
    expect([...evalSet].every((k) => keySplit(k) === 'eval')).toBe(true);
    expect([...train].filter((k) => evalSet.has(k))).toEqual([]);
    expect(train.size).toBe(2000); // never a repeat within a set
  });

  it('splits variable names the same way', () => {
    const rng = new Rng(3);
    const names = new Set<string>();
    for (let i = 0; i < 500; i++) drawVarName(rng, 'eval', names);
    expect([...names].every((n) => /^[A-Z]{5}$/.test(n) && keySplit(n) === 'eval')).toBe(true);
  });

  it('draws 7-digit numbers, v4 UUIDs and words, distinct within a sample', () => {
    const rng = new Rng(11);
    const taken = new Set<string>();
    for (let i = 0; i < 100; i++) expect(drawValue(rng, 'number', taken)).toMatch(/^[1-9]\d{6}$/);
    expect(drawUuid(rng)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const words = new Set<string>();
    for (let i = 0; i < 60; i++) drawValue(rng, 'word', words);
    expect(words.size).toBe(60);
    expect([...words].every((w) => NOUNS.includes(w))).toBe(true);
  });

  it('never uses a word of a key as a word value', () => {
    for (let seed = 0; seed < 50; seed++) {
      const s = generateSample({ task: niah('w', 'noise', 'word', 8, 4, 2), length: 5000, depth: 50, seed, tokenizer: charTokenizer });
      const keyWords = new Set(s.needles.flatMap((n) => n.key.split('-')));
      expect(s.needles.filter((n) => keyWords.has(n.value))).toEqual([]);
    }
  });
});
