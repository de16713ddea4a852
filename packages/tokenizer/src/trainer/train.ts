// A byte-level BPE trainer (GPT-2 style): split the text with a regex, count the words, start
// from the 256 bytes, and repeatedly merge the most frequent adjacent pair until the target vocab
// size. The result is a tokenizer.json that this package and the Hugging Face libraries load alike.
import { BYTE_TO_CHAR } from '../byte-level.js';
import { TokenizerError } from '../errors.js';
import { compilePattern } from '../regex.js';
import { utf8Bytes } from '../utf8.js';
import { PairHeap } from './pair-heap.js';
import { tokenizerJson } from './tokenizer-json.js';

/** Options of `trainBpe`. */
export interface TrainOptions {
  /** Target vocabulary size, special tokens and the 256 bytes included. */
  vocabSize: number;
  /** Special tokens (e.g. "<|endoftext|>"), given ids 0, 1, ... and matched before the model. */
  specialTokens?: string[];
  /** Pre-tokenizer regex (Oniguruma syntax); default: the Llama-3 / cl100k pattern. */
  pattern?: string;
  /** Pairs seen fewer times are never merged. Default 2. */
  minFrequency?: number;
}

/** The default split pattern: Llama-3's (cl100k_base's classic form). */
export const DEFAULT_TRAIN_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const key = (a: number, b: number) => a * 0x100000 + b;

interface State {
  words: number[][];
  freqs: number[];
  counts: Map<number, number>;
  where: Map<number, Set<number>>;
}

function countWords(texts: Iterable<string>, pattern: string, specials: string[]): Map<string, number> {
  const re = compilePattern(pattern, 'options.pattern');
  const cut = specials.length === 0 ? null : new RegExp(specials.map((s) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')).join('|'), 'gu');
  const freq = new Map<string, number>();
  for (const text of texts) {
    for (const part of cut === null ? [text] : text.split(cut)) {
      for (const m of part.matchAll(re)) freq.set(m[0], (freq.get(m[0]) ?? 0) + 1);
    }
  }
  return freq;
}

function addPairs(st: State, w: number, sign: number): void {
  const word = st.words[w];
  for (let i = 0; i + 1 < word.length; i++) {
    const k = key(word[i], word[i + 1]);
    st.counts.set(k, (st.counts.get(k) ?? 0) + sign * st.freqs[w]);
    if (sign > 0) {
      let set = st.where.get(k);
      if (set === undefined) st.where.set(k, (set = new Set()));
      set.add(w);
    }
  }
}

function mergeWord(word: number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
      out.push(id);
      i++;
    } else out.push(word[i]);
  }
  return out;
}

/** Trains a byte-level BPE and returns its tokenizer.json object. */
export function trainBpe(texts: Iterable<string>, options: TrainOptions): Record<string, unknown> {
  const specials = options.specialTokens ?? [];
  const base = specials.length + 256;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < base) {
    throw new TokenizerError('E_BAD_INPUT', `options.vocabSize: expected an integer ≥ ${base} (specials + 256 bytes), got ${options.vocabSize}`);
  }
  const minFreq = options.minFrequency ?? 2;
  const pattern = options.pattern ?? DEFAULT_TRAIN_PATTERN;
  const freq = countWords(texts, pattern, specials);
  const st: State = { words: [], freqs: [], counts: new Map(), where: new Map() };
  for (const [w, f] of freq) {
    st.words.push(Array.from(utf8Bytes(w), (b) => specials.length + b));
    st.freqs.push(f);
  }
  for (let w = 0; w < st.words.length; w++) addPairs(st, w, 1);
  const tokens: string[] = [...specials, ...BYTE_TO_CHAR];
  const merges: [string, string][] = [];
  const heap = new PairHeap();
  for (const [k, count] of st.counts) heap.push({ count, a: Math.floor(k / 0x100000), b: k % 0x100000 });
  while (tokens.length < options.vocabSize) {
    const top = heap.pop();
    if (top === undefined) break;
    const live = st.counts.get(key(top.a, top.b)) ?? 0;
    if (live !== top.count) {
      if (live > 0) heap.push({ ...top, count: live });
      continue;
    }
    if (live < minFreq) break;
    const id = tokens.length;
    tokens.push(tokens[top.a] + tokens[top.b]);
    merges.push([tokens[top.a], tokens[top.b]]);
    applyMerge(st, heap, top.a, top.b, id);
  }
  return tokenizerJson(tokens, merges, specials, pattern);
}

function applyMerge(st: State, heap: PairHeap, a: number, b: number, id: number): void {
  const k = key(a, b);
  const touched = new Set<number>();
  for (const w of st.where.get(k) ?? []) {
    const before = st.words[w];
    const after = mergeWord(before, a, b, id);
    if (after.length === before.length) continue;
    addPairs(st, w, -1);
    st.words[w] = after;
    addPairs(st, w, 1);
    for (let i = 0; i + 1 < after.length; i++) if (after[i] === id || after[i + 1] === id) touched.add(key(after[i], after[i + 1]));
  }
  st.where.delete(k);
  st.counts.delete(k);
  for (const t of touched) heap.push({ count: st.counts.get(t) ?? 0, a: Math.floor(t / 0x100000), b: t % 0x100000 });
}
