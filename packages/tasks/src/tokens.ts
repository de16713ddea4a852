// Token streams: the tokenizer interface, memoized tokenization of repeated pieces (paragraphs,
// the noise group), the endless filler stream of a haystack, a cursor that takes exactly n tokens
// from it, and rechunking into fixed-size arrays. Nothing here ever holds a whole prompt.
import { NOISE } from './corpus.js';
import { check, TaskError } from './errors.js';
import type { Rng } from './rng.js';

/**
 * What the tasks need from a tokenizer (`@hsa/tokenizer`'s `Tokenizer` is one). `encode` must give
 * the ids of the text alone: a tokenizer that adds BOS/EOS by default is passed as
 * `{ encode: (t) => tok.encode(t, { addSpecialTokens: false }), decode: (ids) => tok.decode(ids) }`.
 */
export interface TaskTokenizer {
  encode(text: string): ArrayLike<number>;
  decode(ids: ArrayLike<number>): string;
}

const memo = new WeakMap<TaskTokenizer, Map<string, Int32Array>>();
const lineMemo = new WeakMap<TaskTokenizer, Map<string, Int32Array[]>>();

function cacheOf<V>(map: WeakMap<TaskTokenizer, Map<string, V>>, tokenizer: TaskTokenizer): Map<string, V> {
  let cache = map.get(tokenizer);
  if (cache === undefined) map.set(tokenizer, (cache = new Map()));
  return cache;
}

/** The tokens of `text` as an Int32Array, memoized per tokenizer (treat the result as read-only). */
export function encodeCached(tokenizer: TaskTokenizer, text: string): Int32Array {
  const cache = cacheOf(memo, tokenizer);
  let ids = cache.get(text);
  if (ids === undefined) cache.set(text, (ids = Int32Array.from(tokenizer.encode(text))));
  return ids;
}

/** A paragraph's lines, each tokenized with its newline ("\n\n" after the last), memoized. */
function paragraphLines(tokenizer: TaskTokenizer, paragraph: string): Int32Array[] {
  const cache = cacheOf(lineMemo, tokenizer);
  let lines = cache.get(paragraph);
  if (lines === undefined) {
    const texts = paragraph.split('\n');
    lines = texts.map((line, i) => encodeCached(tokenizer, line + (i === texts.length - 1 ? '\n\n' : '\n'))).filter((ids) => ids.length > 0);
    cache.set(paragraph, lines);
  }
  return lines;
}

/** RULER's noise as sentence pieces: "The grass is green.", " The sky is blue.", ..., " There and back again.\n". */
const NOISE_PIECES = NOISE.split(/(?<=\.) /).map((s, i, all) => (i > 0 ? ' ' : '') + s + (i === all.length - 1 ? '\n' : ''));

/**
 * The endless filler of a haystack, one piece (a view, not a copy) at a time: the noise sentences
 * again and again, or the lines of the paragraphs in a fresh seeded shuffle each time round. Pieces
 * are whole sentences or lines with their newline, so the text around a needle stays whole and most
 * tokenizers split the joined text at the same places as the pieces.
 */
export function* fillerPieces(tokenizer: TaskTokenizer, paragraphs: readonly string[] | null, rng: Rng): Generator<Int32Array> {
  if (paragraphs === null) {
    const noise = NOISE_PIECES.map((s) => encodeCached(tokenizer, s)).filter((ids) => ids.length > 0);
    if (noise.length === 0) throw new TaskError('E_BAD_INPUT', 'the tokenizer encodes the noise text to no tokens');
    for (;;) yield* noise;
  }
  if (paragraphs.length === 0) throw new TaskError('E_NO_CORPUS', 'the corpus split has no paragraphs for a text haystack');
  for (;;) {
    let total = 0;
    for (const p of rng.shuffle(paragraphs)) {
      for (const ids of paragraphLines(tokenizer, p)) {
        total += ids.length;
        yield ids;
      }
    }
    if (total === 0) throw new TaskError('E_BAD_INPUT', 'the tokenizer encodes every paragraph to no tokens');
  }
}

/** Gaps up to this many tokens are padded; longer ones cut the piece (only very long lines). */
export const MAX_PAD = 32;
const PAD_TEXTS = ['\n', ' ', '.'];
const pads = new WeakMap<TaskTokenizer, Int32Array>();

/** MAX_PAD copies of the first of "\n", " ", "." that the tokenizer encodes to one token. */
function padTokens(tokenizer: TaskTokenizer): Int32Array {
  let pad = pads.get(tokenizer);
  if (pad === undefined) {
    const one = PAD_TEXTS.map((t) => tokenizer.encode(t)).find((ids) => ids.length === 1);
    if (one === undefined) throw new TaskError('E_BAD_INPUT', 'the tokenizer encodes none of "\\n", " ", "." to a single token (needed for padding)');
    pads.set(tokenizer, (pad = new Int32Array(MAX_PAD).fill(one[0])));
  }
  return pad;
}

/**
 * Takes exact token counts from an endless piece stream. A count ends on a piece boundary: when the
 * next piece does not fit, the gap is padded with single pad tokens (blank lines, usually) and the
 * piece waits for the next count; a gap over MAX_PAD cuts the piece instead.
 */
export class TokenCursor {
  private rest: Int32Array = new Int32Array(0);
  private readonly pad: Int32Array;
  constructor(
    private readonly source: Iterator<Int32Array>,
    tokenizer: TaskTokenizer,
  ) {
    this.pad = padTokens(tokenizer);
  }

  /** The next `n` tokens, as views into the source's pieces and the pad. */
  *take(n: number): Generator<Int32Array> {
    while (n > 0) {
      if (this.rest.length === 0) this.rest = this.source.next().value as Int32Array;
      if (this.rest.length <= n) {
        yield this.rest;
        n -= this.rest.length;
        this.rest = this.rest.subarray(this.rest.length);
      } else if (n <= MAX_PAD) {
        yield this.pad.subarray(0, n);
        n = 0;
      } else {
        yield this.rest.subarray(0, n);
        this.rest = this.rest.subarray(n);
        n = 0;
      }
    }
  }
}

/** Regroups a piece stream into fresh arrays of `size` tokens (the last one shorter). */
export function* rechunk(pieces: Iterable<Int32Array>, size: number): Generator<Int32Array> {
  check(Number.isInteger(size) && size >= 1, 'chunk', 'a positive integer', size);
  let buf = new Int32Array(size);
  let fill = 0;
  for (const piece of pieces) {
    for (let at = 0; at < piece.length; ) {
      const k = Math.min(size - fill, piece.length - at);
      buf.set(piece.subarray(at, at + k), fill);
      fill += k;
      at += k;
      if (fill === size) {
        yield buf;
        buf = new Int32Array(size);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}
