// Pre-tokenizers of tokenizer.json with the Rust `tokenizers` semantics. A pre-tokenizer splits a
// span into pieces; the ByteLevel byte→char mapping itself is folded into the BPE model
// (`byteLevel`), which works on UTF-8 bytes directly.
import { badField, TokenizerError, unsupported } from '../errors.js';
import { compilePattern, escapeRegex } from '../regex.js';
import { origin, rewrite, type Span } from './span.js';
import { type Behavior, parseBehavior, splitSpan } from './split.js';

/** One splitting step; offsets are kept when `track`. */
export type SplitStep = (span: Span, track: boolean) => Span[];

/** A compiled pre-tokenizer: its steps, whether it ends in ByteLevel, and a fast-path regex. */
export interface PreTokenizer {
  steps: SplitStep[];
  byteLevel: boolean;
  /** Set when the whole pre-tokenizer is one Isolated, non-inverted regex split (GPT-style). */
  fastRegex: RegExp | null;
}

/** GPT-2's pattern, used by ByteLevel with use_regex. */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

function regexStep(re: RegExp, behavior: Behavior, invert: boolean): SplitStep {
  return (span) => splitSpan(span, re, behavior, invert);
}

function metaspace(c: Record<string, unknown>, field: string): SplitStep {
  const rep = typeof c.replacement === 'string' ? c.replacement : '\u2581';
  let scheme = c.prepend_scheme ?? (c.add_prefix_space === false ? 'never' : 'always');
  if (!['always', 'first', 'never'].includes(scheme as string)) {
    unsupported(`${field}.prepend_scheme`, scheme, ['always', 'first', 'never']);
  }
  scheme = scheme as string;
  const split = c.split !== false;
  const re = new RegExp(escapeRegex(rep), 'gu');
  return (span, track) => {
    const first = origin(span, 0) === 0; // Rust: offsets_original().0 == 0
    let s = span.text.includes(' ') ? rewrite(span, parts(span.text, ' ', rep), track) : span;
    const add = scheme === 'always' || (scheme === 'first' && first);
    if (add && !s.text.startsWith(rep)) s = rewrite(s, [[0, 0, rep], [0, s.text.length, s.text]], track);
    return split ? splitSpan(s, re, 'MergedWithNext', false) : s.text.length > 0 ? [s] : [];
  };
}

function parts(text: string, from: string, to: string): [number, number, string][] {
  const out: [number, number, string][] = [];
  let prev = 0;
  for (let i = text.indexOf(from); i >= 0; i = text.indexOf(from, i + from.length)) {
    if (i > prev) out.push([prev, i, text.slice(prev, i)]);
    out.push([i, i + from.length, to]);
    prev = i + from.length;
  }
  if (prev < text.length) out.push([prev, text.length, text.slice(prev)]);
  return out;
}

function byteLevel(c: Record<string, unknown>): SplitStep {
  const prefix = c.add_prefix_space === true;
  const re = c.use_regex !== false ? compilePattern(GPT2_PATTERN) : null;
  return (span, track) => {
    const s = prefix && !span.text.startsWith(' ') ? rewrite(span, [[0, 0, ' '], [0, span.text.length, span.text]], track) : span;
    return re === null ? (s.text.length > 0 ? [s] : []) : splitSpan(s, re, 'Isolated', false);
  };
}

function splitStep(c: Record<string, unknown>, field: string): SplitStep {
  const p = c.pattern as Record<string, unknown> | undefined;
  let re: RegExp;
  if (typeof p?.String === 'string') re = new RegExp(escapeRegex(p.String), 'gu');
  else if (typeof p?.Regex === 'string') re = compilePattern(p.Regex, `${field}.pattern.Regex`);
  else return badField(`${field}.pattern`, '{ "String": ... } or { "Regex": ... }', p);
  return regexStep(re, parseBehavior(c.behavior, `${field}.behavior`), c.invert === true);
}

const SUPPORTED = ['Split', 'ByteLevel', 'Metaspace', 'Digits', 'Whitespace', 'WhitespaceSplit', 'Punctuation', 'Sequence'];

function buildStep(c: Record<string, unknown>, field: string): SplitStep {
  switch (c.type) {
    case 'Split':
      return splitStep(c, field);
    case 'Metaspace':
      return metaspace(c, field);
    case 'Digits':
      return regexStep(/\p{N}/gu, c.individual_digits === true ? 'Isolated' : 'Contiguous', false);
    case 'Whitespace':
      return regexStep(/[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu, 'Removed', true);
    case 'WhitespaceSplit':
      return regexStep(/\p{White_Space}/gu, 'Removed', false);
    case 'Punctuation':
      return regexStep(/[\p{P}!-/:-@[-`{-~]/gu, parseBehavior(c.behavior ?? 'Isolated', `${field}.behavior`), false);
    default:
      return unsupported(`${field}.type`, c.type, SUPPORTED);
  }
}

/** Builds a pre-tokenizer from its tokenizer.json object. */
export function buildPreTokenizer(cfg: unknown, field = 'pre_tokenizer'): PreTokenizer {
  const list: [Record<string, unknown>, string][] = [];
  const c = cfg as Record<string, unknown> | null | undefined;
  if (c === null || c === undefined) return { steps: [], byteLevel: false, fastRegex: null };
  if (c.type === 'Sequence') {
    if (!Array.isArray(c.pretokenizers)) badField(`${field}.pretokenizers`, 'an array', c.pretokenizers);
    (c.pretokenizers as Record<string, unknown>[]).forEach((p, i) => {
      list.push([p, `${field}.pretokenizers[${i}]`]);
    });
  } else list.push([c, field]);
  const steps: SplitStep[] = [];
  let byte = false;
  list.forEach(([p, f], i) => {
    if (p?.type === 'Sequence') throw new TokenizerError('E_UNSUPPORTED', `${f}: nested Sequence is not supported`);
    if (p?.type === 'ByteLevel') {
      if (i !== list.length - 1) throw new TokenizerError('E_UNSUPPORTED', `${f}: ByteLevel must be the last pre-tokenizer`);
      byte = true;
      if (p.add_prefix_space === true || p.use_regex !== false) steps.push(byteLevel(p));
    } else steps.push(buildStep(p, f));
  });
  return { steps, byteLevel: byte, fastRegex: fastRegexOf(list, byte) };
}

function fastRegexOf(list: [Record<string, unknown>, string][], byte: boolean): RegExp | null {
  const splits = list.filter(([p]) => p.type !== 'ByteLevel');
  const bl = list.find(([p]) => p.type === 'ByteLevel')?.[0];
  if (bl !== undefined && (bl.add_prefix_space === true || bl.use_regex !== false)) {
    return splits.length === 0 && bl.add_prefix_space !== true ? compilePattern(GPT2_PATTERN) : null;
  }
  if (splits.length !== 1 || !byte) return null;
  const [p] = splits[0];
  const pat = p.pattern as Record<string, unknown>;
  if (p.type !== 'Split' || p.behavior !== 'Isolated' || p.invert === true || typeof pat?.Regex !== 'string') return null;
  return compilePattern(pat.Regex);
}
