/**
 * The document the model reads: a generated needle-in-a-haystack prompt (@hsa/tasks, exact length
 * and depth, streamed) or the reader's own text and question. Either way the prompt is streamed into
 * the model in pieces, and its ids are kept (4 bytes a token) so a chunk's text can be shown later.
 */
import { type Corpus, generateSample, type TaskSpec } from '@hsa/tasks';
import type { Tokenizer } from '@hsa/tokenizer';

/** A span of the document to mark in the retrieval picture. */
export interface Mark {
  label: string;
  /** first token */
  start: number;
  length: number;
}

export interface DemoPrompt {
  length: number;
  /** the question that ends the prompt */
  question: string;
  /** strings a correct answer contains (empty for the reader's own text) */
  answers: readonly string[];
  /** where the needle is (the queried ones first) */
  marks: Mark[];
  /** the prompt's ids, filled while `pieces()` streams them */
  ids: Int32Array;
  pieces(): Iterable<ArrayLike<number>>;
}

/** The tokenizer as @hsa/tasks wants it: text alone, no special tokens added. */
export function taskTokenizer(tok: Tokenizer) {
  return { encode: (t: string) => tok.encode(t, { addSpecialTokens: false }), decode: (ids: ArrayLike<number>) => tok.decode(ids) };
}

/** Pieces that also copy every token into `ids`. */
function recording(ids: Int32Array, source: () => Iterable<ArrayLike<number>>): () => Iterable<ArrayLike<number>> {
  return function* () {
    let at = 0;
    for (const piece of source()) {
      ids.set(piece, at);
      at += piece.length;
      yield piece;
    }
  };
}

export interface TaskPromptOptions {
  task: TaskSpec;
  length: number;
  depth: number;
  seed: number;
  tokenizer: Tokenizer;
  corpus: Corpus;
  /** tokens per streamed piece: a prefill segment (pieces are prefilled one pass each, so lines would be slow) */
  pieceTokens: number;
}

export function taskPrompt(o: TaskPromptOptions): DemoPrompt {
  const sample = generateSample({ task: o.task, length: o.length, depth: o.depth, seed: o.seed, tokenizer: taskTokenizer(o.tokenizer), corpus: o.corpus });
  const ids = new Int32Array(sample.length);
  const marks = [...sample.needles]
    .sort((a, b) => Number(b.queried) - Number(a.queried))
    .map((n) => ({ label: `${n.queried ? 'needle' : 'distractor'}: ${n.text.trim()}`, start: n.start, length: n.length }));
  return { length: sample.length, question: sample.question, answers: sample.answers, marks, ids, pieces: recording(ids, () => sample.tokens(o.pieceTokens)) };
}

/**
 * The reader's text, then the question on a line of its own (end it with the start of the answer,
 * e.g. "The pass key is"). `find`, when given and present, is marked like a needle.
 */
export function textPrompt(text: string, question: string, tokenizer: Tokenizer, find?: string): DemoPrompt {
  const full = `${text.trimEnd()}\n${question.trim()}`;
  const { ids: list, offsets } = tokenizer.encodeWithOffsets(full, { addSpecialTokens: false });
  const ids = Int32Array.from(list);
  const marks: Mark[] = [];
  const at = find ? text.indexOf(find) : -1;
  if (find && at >= 0) {
    const first = offsets.findIndex(([, end]) => end > at);
    const last = offsets.findIndex(([, end]) => end >= at + find.length);
    if (first >= 0) marks.push({ label: `marked text: ${find}`, start: first, length: Math.max(1, (last < 0 ? first : last) - first + 1) });
  }
  return { length: ids.length, question: question.trim(), answers: [], marks, ids, pieces: () => [ids] };
}
