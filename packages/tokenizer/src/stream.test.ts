import { describe, expect, it } from 'vitest';
import { fromTiktokenRanks, fromTokenizerJson, type Tokenizer } from './index.js';
import { CASES, randomStrings } from './test-utils/corpus.js';
import { rankFileText, tokenizerJsonText } from './test-utils/refs.js';

const TOKENIZERS: [string, () => Tokenizer][] = [
  ['cl100k_base', () => fromTiktokenRanks('cl100k_base', rankFileText('cl100k_base'))],
  ['llama3', () => fromTokenizerJson(tokenizerJsonText('llama3'))],
  ['llama2', () => fromTokenizerJson(tokenizerJsonText('llama2'))],
];

describe.each(TOKENIZERS)('stream decoder (%s)', (_name, load) => {
  const tok = load();

  it('concatenated pieces equal the full decode, and no piece ends inside a character', () => {
    for (const text of [CASES.emoji, CASES.chinese, CASES.mixed, CASES.hindi, ...randomStrings(100, 20, 31)]) {
      const ids = tok.encode(text);
      const s = tok.createStreamDecoder();
      let out = '';
      for (const id of ids) {
        const piece = s.push(id);
        expect(piece).not.toMatch(/[\uD800-\uDBFF]$/); // never half a surrogate pair
        out += piece;
      }
      out += s.flush();
      expect(out, JSON.stringify(text)).toBe(tok.decode(ids));
    }
  });

  it('holds back partial UTF-8 and emits it once complete', () => {
    const ids = tok.encode('👨‍👩‍👧', { addSpecialTokens: false });
    const s = tok.createStreamDecoder();
    const pieces = ids.map((id) => s.push(id));
    expect(pieces.join('') + s.flush()).toBe('👨‍👩‍👧');
    expect(pieces.every((p) => !p.includes('\uFFFD'))).toBe(true);
  });
});

describe('invalid UTF-8 never throws', () => {
  it('lone continuation bytes and truncated sequences decode to U+FFFD', () => {
    const tok = fromTiktokenRanks('cl100k_base', rankFileText('cl100k_base'));
    const partial = tok.encode('é')[0] === undefined ? [] : tok.encode('😀'); // 😀 is several byte tokens
    expect(partial.length).toBeGreaterThan(1);
    expect(tok.decode(partial.slice(0, 1))).toBe('\uFFFD');
    const s = tok.createStreamDecoder();
    expect(s.push(partial[0])).toBe('');
    expect(s.flush()).toBe('\uFFFD');
    expect(tok.decode([1_000_000, -1, 0.5])).toBe('');
  });
});
