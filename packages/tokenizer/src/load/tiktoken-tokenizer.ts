// Builds a Tokenizer from tiktoken ranks: regex split, byte-level BPE by rank, special tokens.
import { ByteBpe } from '../bpe/byte-bpe.js';
import { tablesFromRanks } from '../bpe/tables.js';
import { badField } from '../errors.js';
import { type AddedToken, AddedTokenMatcher } from '../pipeline/added-tokens.js';
import { tiktokenDetokenizer } from '../pipeline/detokenizer.js';
import { splitSpan } from '../pipeline/split.js';
import { compilePattern } from '../regex.js';
import { Tokenizer } from '../tokenizer.js';
import { parseRanks, TIKTOKEN_SPECS, type TiktokenName, type TiktokenOptions } from './tiktoken.js';

/** Loads tiktoken rank-file text with an explicit pattern and special tokens. */
export function fromTiktoken(ranks: string, options: TiktokenOptions): Tokenizer {
  if (typeof options?.pattern !== 'string') badField('options.pattern', 'the encoding regex as a string', options?.pattern);
  const fast = Object.values(TIKTOKEN_SPECS).find((s) => s.pattern === options.pattern)?.fastPattern;
  const re = compilePattern(fast ?? options.pattern, 'options.pattern');
  const { tokens, byId } = parseRanks(ranks);
  const specials = new Map<number, string>();
  const added: AddedToken[] = [];
  for (const [content, id] of Object.entries(options.specialTokens ?? {})) {
    if (!Number.isInteger(id)) badField(`options.specialTokens[${JSON.stringify(content)}]`, 'an integer id', id);
    specials.set(id, content);
    added.push({ id, content, special: true, singleWord: false, lstrip: false, rstrip: false, normalized: false });
  }
  const vocab = byId; // binary-string token → rank
  const model = new ByteBpe(tablesFromRanks(tokens, byId));
  return new Tokenizer({
    format: 'tiktoken',
    added,
    matcher: new AddedTokenMatcher(added),
    segment: { normalizer: null, normalizedAdded: null, pre: { steps: [(span) => splitSpan(span, re, 'Isolated', false)], byteLevel: true, fastRegex: re }, model },
    post: { before: [], after: [] },
    detokenizer: tiktokenDetokenizer(tokens, specials),
    vocab,
    idToToken: (id) => tokens[id] ?? specials.get(id),
  });
}

/** Loads one of the built-in encodings (cl100k_base, o200k_base) from its rank-file text. */
export function fromTiktokenRanks(name: TiktokenName, ranks: string): Tokenizer {
  const spec = TIKTOKEN_SPECS[name];
  if (spec === undefined) badField('name', `one of ${Object.keys(TIKTOKEN_SPECS).join(', ')}`, name);
  return fromTiktoken(ranks, { pattern: spec.pattern, specialTokens: spec.specialTokens });
}
