import { describe, expect, it } from 'vitest';
import { TIKTOKEN_SPECS } from './load/tiktoken.js';
import { compilePattern, translatePattern } from './regex.js';
import { CASES, randomStrings } from './test-utils/corpus.js';

const split = (re: RegExp, s: string) => Array.from(s.matchAll(re), (m) => m[0]);

describe('translatePattern', () => {
  it('rewrites inline case-insensitive groups with Unicode case folding', () => {
    expect(translatePattern("(?i:'s|'t)")).toBe("(?:'[Ssſ]|'[Tt])");
    expect(split(compilePattern("(?i:'s)|\\p{L}+"), "'ſx'Sy")).toEqual(["'ſ", 'x', "'S", 'y']);
  });

  it('gives \\s, \\d and \\w their Unicode meaning', () => {
    const ws = compilePattern('\\s+');
    expect(split(ws, 'a\u0085b')).toEqual(['\u0085']); // NEL is White_Space
    expect(split(ws, 'a\uFEFFb')).toEqual([]); // BOM is not
    expect(split(compilePattern('\\d+'), 'x٣٤y')).toEqual(['٣٤']);
    expect(split(compilePattern('[^\\s\\p{L}]+'), 'a, b')).toEqual([',']);
  });

  it('emulates possessive quantifiers with the atomic lookahead idiom', () => {
    expect(translatePattern('a++b')).toBe('(?=(?<hsaP0>a+))\\k<hsaP0>b');
    expect(split(compilePattern('a++a'), 'aaa')).toEqual([]); // possessive: never gives back an a
    expect(split(compilePattern('a+a'), 'aaa')).toEqual(['aaa']);
  });

  it("tiktoken's possessive cl100k pattern splits like our possessive-free form", () => {
    const a = compilePattern(TIKTOKEN_SPECS.cl100k_base.pattern);
    const b = compilePattern(TIKTOKEN_SPECS.cl100k_base.fastPattern);
    for (const s of [...Object.values(CASES), ...randomStrings(2000, 30, 21)]) {
      for (const t of [s, `${s} \n`, `${s}\n\u3000`]) expect(split(a, t)).toEqual(split(b, t));
    }
  });

  it('maps script names and braces', () => {
    expect(translatePattern('\\p{Han}\\x{41}\\pL')).toBe('\\p{Script=Han}\\u{41}\\p{L}');
  });

  it('rejects what JavaScript cannot express, naming the field', () => {
    expect(() => compilePattern('(?>a)')).toThrow(/pattern\.Regex: an atomic group/);
    expect(() => compilePattern('(?x)a')).toThrow(/group or flag/);
    expect(() => compilePattern('[a')).toThrow(/unclosed/);
    expect(() => compilePattern('\\p{NoSuchThing}')).toThrow(/property/);
  });
});
