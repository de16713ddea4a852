import { describe, expect, it } from 'vitest';
import { buildDecoder } from './decoders.js';

const run = (cfg: object, tokens: string[]) => buildDecoder(cfg)!(tokens).join('');

describe('decoders (Rust semantics)', () => {
  it('Metaspace drops every replacement char of the first token unless prepend_scheme is never', () => {
    expect(run({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always' }, ['▁▁Hey', '▁friend'])).toBe('Hey friend');
    expect(run({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'never' }, ['▁Hey', '▁friend'])).toBe(' Hey friend');
  });

  it('ByteFallback: valid byte runs become text, an invalid run one U+FFFD per byte', () => {
    expect(run({ type: 'ByteFallback' }, ['<0xE2>', '<0x82>', '<0xAC>', 'x'])).toBe('€x');
    expect(run({ type: 'ByteFallback' }, ['<0xE2>', '<0x82>', 'x'])).toBe('\uFFFD\uFFFDx');
  });

  it('Strip trims per token; Replace and Fuse chain', () => {
    const seq = { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] };
    expect(run(seq, ['▁Hello', '▁world'])).toBe('Hello world');
  });

  it('ByteLevel maps chars back to bytes and keeps a leading BOM', () => {
    expect(run({ type: 'ByteLevel' }, ['ï»¿', 'hiĠthere'])).toBe('\uFEFFhi there');
    expect(run({ type: 'ByteLevel' }, ['Ã'])).toBe('\uFFFD'); // a lone lead byte
  });
});
