import { describe, expect, it } from 'vitest';
import { buildNormalizer } from './normalizers.js';
import { origin } from './span.js';

const norm = (cfg: object, text: string) => buildNormalizer(cfg)!({ text, base: 0, map: null }, true);

describe('normalizers (Rust semantics, offsets kept)', () => {
  it('Lowercase works char by char: a final sigma stays σ as in Rust', () => {
    expect(norm({ type: 'Lowercase' }, 'ΣΊΣΥΦΟΣ').text).toBe('σίσυφοσ');
  });

  it('Replace and Prepend map new text back to the source', () => {
    const s = norm({ type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] }, 'a b');
    expect(s.text).toBe('▁a▁b');
    expect([0, 1, 2, 3, 4].map((k) => origin(s, k))).toEqual([0, 0, 1, 2, 3]);
  });

  it('Strip removes Unicode whitespace only (not U+FEFF)', () => {
    expect(norm({ type: 'Strip', strip_left: true, strip_right: true }, '\u3000 x\uFEFF \n').text).toBe('x\uFEFF');
  });

  it('NFC keeps offsets per cluster', () => {
    const s = norm({ type: 'NFC' }, 'ae\u0301b');
    expect(s.text).toBe('aéb');
    expect([0, 1, 2, 3].map((k) => origin(s, k))).toEqual([0, 1, 3, 4]);
  });
});
