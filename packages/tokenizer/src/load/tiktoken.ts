// tiktoken rank files: the standard `.tiktoken` text ("<base64 token> <rank>" per line) and
// js-tiktoken's compressed form ("! <first rank> <base64> <base64> ..." per line).
import { badField, TokenizerError } from '../errors.js';

/** The built-in encodings' patterns (tiktoken's own, possessive quantifiers included) and specials. */
export const TIKTOKEN_SPECS = {
  cl100k_base: {
    pattern:
      "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s",
    /**
     * The same pattern without possessive quantifiers (faster in JavaScript). Each possessive there
     * ends its alternative or is followed by something it cannot give back, so dropping it changes
     * nothing; `\s++$` is `\s+$`. (The classic `\s*[\r\n]+|\s+(?!\S)|\s+` form that js-tiktoken
     * uses splits trailing whitespace differently; regex.test.ts checks this one piece by piece.)
     */
    fastPattern:
      "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s+$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s",
    specialTokens: {
      '<|endoftext|>': 100257,
      '<|fim_prefix|>': 100258,
      '<|fim_middle|>': 100259,
      '<|fim_suffix|>': 100260,
      '<|endofprompt|>': 100276,
    } as Record<string, number>,
  },
  o200k_base: {
    pattern: [
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
      '\\p{N}{1,3}',
      ' ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*',
      '\\s*[\\r\\n]+',
      '\\s+(?!\\S)',
      '\\s+',
    ].join('|'),
    fastPattern: undefined as string | undefined,
    specialTokens: { '<|endoftext|>': 199999, '<|endofprompt|>': 200018 } as Record<string, number>,
  },
};

/** Names of the built-in tiktoken encodings. */
export type TiktokenName = keyof typeof TIKTOKEN_SPECS;

function decodeB64(s: string, line: number): string {
  try {
    return atob(s);
  } catch {
    return badField(`ranks line ${line}`, 'base64 token', s);
  }
}

/** Parses rank-file text into binary-string tokens indexed by rank, and the reverse map. */
export function parseRanks(text: string): { tokens: (string | undefined)[]; byId: Map<string, number> } {
  const tokens: (string | undefined)[] = [];
  const byId = new Map<string, number>();
  const add = (bin: string, rank: number) => {
    tokens[rank] = bin;
    byId.set(bin, rank);
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const f = line.split(' ');
    if (f[0] === '!' || (f.length > 2 && /^\d+$/.test(f[1]))) {
      const first = Number(f[1]);
      for (let k = 2; k < f.length; k++) add(decodeB64(f[k], i + 1), first + k - 2);
    } else if (f.length === 2 && /^\d+$/.test(f[1])) add(decodeB64(f[0], i + 1), Number(f[1]));
    else badField(`ranks line ${i + 1}`, '"<base64> <rank>"', line);
  }
  if (byId.size < 256) throw new TokenizerError('E_BAD_TOKENIZER', `ranks: expected at least the 256 single bytes, got ${byId.size} tokens`);
  return { tokens, byId };
}

/** Options of `fromTiktoken`: the split pattern and the special tokens of the encoding. */
export interface TiktokenOptions {
  /** The encoding's regex (tiktoken / Rust syntax; possessive quantifiers allowed). */
  pattern: string;
  /** Special token string → id. */
  specialTokens?: Record<string, number>;
}
