import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR, binaryToByteLevel, byteLevelToBinary } from './byte-level.js';
import { byteToUnitMap, toBinary, toWellFormed } from './utf8.js';

describe('utf8 and byte-level helpers', () => {
  it('toWellFormed replaces lone surrogates only', () => {
    expect(toWellFormed('a\uD800b\uD83D\uDE00\uDC00')).toBe('a\uFFFDb\uD83D\uDE00\uFFFD');
  });

  it('byteToUnitMap points each UTF-8 byte at its UTF-16 char', () => {
    expect(Array.from(byteToUnitMap('aé😀'))).toEqual([0, 1, 1, 2, 2, 2, 2, 4]);
  });

  it('the byte-level map is a bijection over 256 printable chars', () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    const bin = toBinary('Hé 😀\n');
    expect(byteLevelToBinary(binaryToByteLevel(bin))).toBe(bin);
    expect(binaryToByteLevel(' \n')).toBe('ĠĊ');
  });
});
