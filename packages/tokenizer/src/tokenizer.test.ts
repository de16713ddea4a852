import { describe, expect, it } from 'vitest';
import { fromTiktokenRanks, fromTokenizerJson, type Tokenizer, TokenizerError } from './index.js';
import { CASES, randomStrings } from './test-utils/corpus.js';
import { rankFileText, tokenizerJsonText } from './test-utils/refs.js';

const TOKENIZERS: [string, () => Tokenizer][] = [
  ['cl100k_base', () => fromTiktokenRanks('cl100k_base', rankFileText('cl100k_base'))],
  ['llama3', () => fromTokenizerJson(tokenizerJsonText('llama3'))],
  ['qwen3', () => fromTokenizerJson(tokenizerJsonText('qwen3'))],
  ['llama2', () => fromTokenizerJson(tokenizerJsonText('llama2'))],
];

describe.each(TOKENIZERS)('Tokenizer (%s)', (_name, load) => {
  const tok = load();
  const texts = [...Object.values(CASES), ...randomStrings(200, 30, 41)];

  it('encodeWithOffsets gives the same ids, ordered ranges inside the text', () => {
    for (const text of texts) {
      const { ids, offsets } = tok.encodeWithOffsets(text);
      expect(ids).toEqual(tok.encode(text));
      expect(offsets.length).toBe(ids.length);
      let last = 0;
      for (const [a, b] of offsets) {
        expect(a).toBeLessThanOrEqual(b);
        expect(b).toBeLessThanOrEqual(text.length);
        if (b > a) {
          expect(a).toBeGreaterThanOrEqual(Math.min(last, a));
          last = b;
        }
      }
    }
  });

  it('offsets slice back to each token on plain ASCII', () => {
    const text = 'Hello world, this is 2024!';
    const { ids, offsets } = tok.encodeWithOffsets(text, { addSpecialTokens: false });
    const pieces = offsets.map(([a, b]) => text.slice(a, b));
    expect(pieces.join('')).toBe(text);
    pieces.forEach((p, i) => {
      expect(tok.decode([ids[i]]).trim()).toBe(p.trim());
    });
  });

  it('batch variants equal the single ones', () => {
    const batch = texts.slice(0, 20);
    const ids = tok.encodeBatch(batch);
    expect(ids).toEqual(batch.map((t) => tok.encode(t)));
    expect(tok.decodeBatch(ids)).toEqual(ids.map((i) => tok.decode(i)));
  });

  it('rejects a non-string with E_BAD_INPUT', () => {
    expect(() => tok.encode(42 as unknown as string)).toThrow(TokenizerError);
  });
});

describe('vocabSize', () => {
  it('counts the vocab and the added tokens', () => {
    expect(fromTiktokenRanks('cl100k_base', rankFileText('cl100k_base')).vocabSize).toBe(100277);
    expect(fromTokenizerJson(tokenizerJsonText('llama3')).vocabSize).toBe(128256);
  });
});

describe('offsets through added tokens and normalizers', () => {
  it('special tokens cover their text; BOS gets [0, 0]', () => {
    const tok = fromTokenizerJson(tokenizerJsonText('llama2'));
    const text = 'hi</s>yo';
    const { ids, offsets } = tok.encodeWithOffsets(text);
    expect(ids[0]).toBe(1);
    expect(offsets[0]).toEqual([0, 0]);
    const eos = ids.indexOf(2);
    expect(text.slice(...offsets[eos])).toBe('</s>');
  });

  it('NFC-normalized text maps back to the decomposed input', () => {
    const tok = fromTokenizerJson(tokenizerJsonText('qwen3'));
    const text = 'Cafe\u0301 ok';
    const { offsets } = tok.encodeWithOffsets(text);
    expect(offsets[offsets.length - 1][1]).toBe(text.length);
    expect(offsets.some(([a, b]) => text.slice(a, b).includes('e\u0301'))).toBe(true);
  });
});
