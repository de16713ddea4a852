// The encode pipeline of one text segment (between added tokens): normalize, cut the normalized
// added tokens, pre-tokenize, run the model; offsets are tracked only when asked for.
import type { Model } from '../bpe/model.js';
import { byteToUnitMap, isAscii } from '../utf8.js';
import type { AddedTokenMatcher } from './added-tokens.js';
import type { Normalizer } from './normalizers.js';
import type { PreTokenizer } from './pre-tokenizers.js';
import { origin, slice, type Span } from './span.js';

/** The parts of a tokenizer that encode a segment of plain text. */
export interface SegmentEncoder {
  normalizer: Normalizer | null;
  normalizedAdded: AddedTokenMatcher | null;
  pre: PreTokenizer;
  model: Model;
}

/** Output buffers: ids, and [start, end) offset pairs in the input when `offsets` is set. */
export interface Sink {
  ids: number[];
  offsets: number[] | null;
}

const sticky = new WeakMap<RegExp, RegExp>();

/**
 * Encodes `text` fast when neither offsets nor normalization are involved; false if not applicable.
 * A sticky copy of the regex with `test()` walks the pieces without allocating match arrays; where
 * it fails (text no alternative matches) the global regex finds the next match and the skipped
 * text becomes its own piece, as in the Rust library's Isolated split.
 */
function encodeFast(enc: SegmentEncoder, text: string, sink: Sink): boolean {
  const re = enc.pre.fastRegex;
  if (re === null || sink.offsets !== null) return false;
  let st = sticky.get(re);
  if (st === undefined) sticky.set(re, (st = new RegExp(re.source, 'yu')));
  const { model } = enc;
  const ids = sink.ids;
  let prev = 0;
  st.lastIndex = 0;
  while (prev < text.length) {
    if (st.test(text) && st.lastIndex > prev) {
      model.encode(text.slice(prev, st.lastIndex), ids);
      prev = st.lastIndex;
      continue;
    }
    re.lastIndex = prev;
    let m = re.exec(text);
    while (m !== null && m[0].length === 0) {
      re.lastIndex = m.index + 1;
      m = re.exec(text);
    }
    const next = m === null ? text.length : m.index;
    if (next > prev) model.encode(text.slice(prev, next), ids);
    if (m === null) break;
    model.encode(m[0], ids);
    prev = st.lastIndex = next + m[0].length;
  }
  return true;
}

/** Model ids and offsets of one pre-tokenized piece. */
function encodePiece(model: Model, piece: Span, sink: Sink): void {
  if (sink.offsets === null) {
    model.encode(piece.text, sink.ids);
    return;
  }
  const lens: number[] = [];
  model.encode(piece.text, sink.ids, lens);
  const text = piece.text;
  const toUnit = model.unit === 'byte' && !isAscii(text) ? byteToUnitMap(text) : null;
  let pos = 0;
  for (const len of lens) {
    const a = toUnit === null ? pos : toUnit[pos];
    const endByte = pos + len;
    // A token that ends inside a multi-byte char is given the whole char.
    let b = toUnit === null ? endByte : toUnit[endByte];
    if (toUnit !== null && endByte < toUnit.length - 1 && endByte > 0 && toUnit[endByte] === toUnit[endByte - 1]) {
      let k = endByte;
      while (k < toUnit.length - 1 && toUnit[k] === toUnit[endByte - 1]) k++;
      b = toUnit[k];
    }
    if (len === 0 && sink.offsets.length >= 2 && pos > 0) {
      // A byte-fallback token after the first byte of its char: the whole char, as in Rust.
      sink.offsets.push(sink.offsets[sink.offsets.length - 2], sink.offsets[sink.offsets.length - 1]);
      continue;
    }
    const start = origin(piece, a);
    let end = origin(piece, Math.max(a, b));
    // Only inserted text (a Prepend / prefix "▁"): Rust aligns it with the char it precedes.
    if (end === start && b > a && b < text.length) end = origin(piece, b + 1);
    sink.offsets.push(start, end);
    pos = endByte;
  }
}

/** Encodes a segment of plain text (see file header). */
export function encodeSegment(enc: SegmentEncoder, segment: Span, sink: Sink): void {
  const track = sink.offsets !== null;
  const span = enc.normalizer === null ? segment : enc.normalizer(segment, track);
  if (enc.normalizedAdded !== null) {
    const cuts = enc.normalizedAdded.cut(span.text);
    if (cuts !== null) {
      for (const c of cuts) {
        if (c.id < 0) preTokenize(enc, slice(span, c.start, c.end), sink);
        else {
          sink.ids.push(c.id);
          sink.offsets?.push(origin(span, c.start), origin(span, c.end));
        }
      }
      return;
    }
  }
  preTokenize(enc, span, sink);
}

function preTokenize(enc: SegmentEncoder, span: Span, sink: Sink): void {
  if (span.text.length === 0) return;
  if (encodeFast(enc, span.text, sink)) return;
  let pieces: Span[] = [span];
  for (const step of enc.pre.steps) pieces = pieces.flatMap((p) => step(p, sink.offsets !== null));
  for (const p of pieces) encodePiece(enc.model, p, sink);
}
