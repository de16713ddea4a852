import { describe, expect, it } from 'vitest';
import { fromTokenizerJson } from '../index.js';
import { CASES, propertyRuns, randomStrings } from '../test-utils/corpus.js';
import { hfReferenceFromJson } from '../test-utils/refs.js';
import { trainBpe } from './train.js';

const TRAIN = [...Object.values(CASES), ...Array(20).fill(CASES.english), ...randomStrings(400, 40, 51)].map(
  (s) => `${s} <|endoftext|>`,
);

describe('trainBpe', () => {
  const json = trainBpe(TRAIN, { vocabSize: 800, specialTokens: ['<|endoftext|>', '<|pad|>'] });
  const ours = fromTokenizerJson(json);
  const ref = hfReferenceFromJson(JSON.parse(JSON.stringify(json)));

  it('reaches the target vocab size with specials first', () => {
    const vocab = (json.model as { vocab: Record<string, number> }).vocab;
    expect(Object.keys(vocab).length).toBe(800);
    expect(vocab['<|endoftext|>']).toBe(0);
    expect(ours.tokenToId('<|pad|>')).toBe(1);
  });

  it('is read identically by @huggingface/tokenizers and this package', () => {
    for (const text of [...TRAIN.slice(0, 50), ...randomStrings(propertyRuns(300, 3000), 40, 52)]) {
      expect(ours.encode(text), JSON.stringify(text)).toEqual(ref.encode(text).ids);
    }
  });

  it('round-trips text and matches special tokens', () => {
    for (const text of [CASES.english, CASES.emoji, CASES.chinese]) expect(ours.decode(ours.encode(text))).toBe(text);
    expect(ours.encode('a<|endoftext|>b')).toContain(0);
    expect(ours.encode(CASES.english).length).toBeLessThan(CASES.english.length / 3); // frequent text compresses
  });

  it('is deterministic and survives a JSON round trip', () => {
    expect(JSON.stringify(trainBpe(TRAIN, { vocabSize: 400 }))).toBe(JSON.stringify(trainBpe(TRAIN, { vocabSize: 400 })));
    expect(fromTokenizerJson(JSON.stringify(json)).encode(CASES.mixed)).toEqual(ours.encode(CASES.mixed));
  });

  it('keeps tokens named like Object.prototype members', () => {
    const j = trainBpe(Array(5).fill('constructor __proto__ toString hasOwnProperty'), { vocabSize: 320 });
    const t = fromTokenizerJson(JSON.stringify(j));
    expect(t.tokenToId('constructor')).toBeGreaterThan(256);
    expect(t.decode(t.encode('constructor __proto__'))).toBe('constructor __proto__');
    expect(hfReferenceFromJson(JSON.parse(JSON.stringify(j))).encode('constructor __proto__').ids).toEqual(t.encode('constructor __proto__'));
  });

  it('rejects a vocab size below specials + 256 bytes', () => {
    expect(() => trainBpe(['x'], { vocabSize: 100 })).toThrow(/options\.vocabSize: expected an integer ≥ 256/);
  });
});
