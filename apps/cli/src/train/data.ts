/**
 * The data of a training run: the corpus split (training paragraphs only; the held-out ones are the
 * evaluation haystacks), a byte-level BPE trained on the training split (deterministic, so a resumed
 * run rebuilds the same tokenizer), the training split tokenized once, and the batch of each step.
 *
 * A batch is a pure function of (seed, global step): resuming reproduces every batch exactly.
 * Each sequence is a retrieval sample with probability `synthetic.fraction` (a task drawn from the
 * stage's list, training keys and paragraphs, a random depth), else a window of the training text.
 * A retrieval sequence is the prompt followed by the answer (" v1, v2.\n"), cut so that prompt and
 * answer fill seqLen + 1 tokens exactly; its loss is on every token ("all", the paper's mix: the
 * task is ordinary text among the rest) or on the answer only ("answer": a denser retrieval signal).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { TrainSequence } from '@hsa/model';
import { type Corpus, generateSample, Rng, type Split, splitCorpus, TaskError, type TaskTokenizer } from '@hsa/tasks';
import { loadShakespeare } from '@hsa/tasks/node';
import { fromTokenizerJson, trainBpe } from '@hsa/tokenizer';
import { type CopyTask, type Recipe, RecipeError, type Stage, type TrainTask } from './recipe.js';

/** The target id the loss ignores. */
export const IGNORE = -100;

export interface TrainData {
  seed: number;
  tokenizerJson: Record<string, unknown>;
  tokenizer: TaskTokenizer;
  corpus: Corpus;
  /** the training split, tokenized (paragraphs joined by blank lines) */
  tokens: Int32Array;
  /** the held-out split, tokenized likewise (the held-out loss) */
  heldOut: Int32Array;
  /** ids below this are special tokens */
  specialTokens: number;
  /** the tokens of the printable ASCII characters that encode to one token each (the `induction` alphabet) */
  characters: Int32Array;
  /** the key tokens of `induction_keyed`: multi-character tokens (the first BPE merges), none of them a character */
  keys: Int32Array;
  vocabSize: number;
}

/** How many key tokens `induction_keyed` draws from (more than the episodes of a 2K sequence). */
const KEY_TOKENS = 64;

async function readCorpus(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new RecipeError('data.corpus', `${path} could not be read (${(e as Error).message}); the path is relative to the recipe file`);
  }
}

/** Reads the corpus, trains the tokenizer on its training split and tokenizes that split. */
export async function prepareData(recipe: Recipe, recipeDir: string): Promise<TrainData> {
  const split = { heldOutPercent: recipe.heldOutPercent };
  const corpus = recipe.corpus === undefined ? loadShakespeare(split) : splitCorpus(await readCorpus(resolve(recipeDir, recipe.corpus)), split);
  const tokenizerJson = trainBpe(corpus.train, { vocabSize: recipe.tokenizer.vocabSize, specialTokens: recipe.tokenizer.specialTokens });
  const tok = fromTokenizerJson(tokenizerJson);
  const tokenizer: TaskTokenizer = { encode: (t) => tok.encode(t, { addSpecialTokens: false }), decode: (ids) => tok.decode(ids) };
  const encode = (ps: readonly string[]) => Int32Array.from(tokenizer.encode(ps.join('\n\n')));
  return {
    seed: recipe.seed,
    tokenizerJson,
    tokenizer,
    corpus,
    tokens: encode(corpus.train),
    heldOut: encode(corpus.heldOut),
    specialTokens: recipe.tokenizer.specialTokens.length,
    characters: Int32Array.from(characterTokens(tokenizer)),
    keys: Int32Array.from({ length: KEY_TOKENS }, (_, i) => recipe.tokenizer.specialTokens.length + 256 + i),
    vocabSize: recipe.tokenizer.vocabSize,
  };
}

/** The single tokens of the printable ASCII characters (space to tilde), in character order. */
function characterTokens(tokenizer: TaskTokenizer): number[] {
  const chars = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
  return chars.map((c) => tokenizer.encode(c)).flatMap((ids) => (ids.length === 1 ? [ids[0]] : []));
}

/** The answer as the model should continue the prompt: " v1, v2.\n" (eval stops at the newline). */
export const answerText = (answers: readonly string[]): string => ` ${answers.join(', ')}.\n`;

/** A window of seqLen + 1 training-text tokens at a random offset. */
function textWindow(tokens: Int32Array, seqLen: number, rng: Rng): TrainSequence {
  const start = rng.int(0, tokens.length - seqLen - 1);
  return { ids: tokens.subarray(start, start + seqLen), targets: tokens.subarray(start + 1, start + seqLen + 1) };
}

/**
 * A `copy` sequence of seqLen + 1 tokens: text, a span X of ⌊seqLen/4⌋ random non-special tokens
 * (`copy_text`: a window of text),
 * more text, X again at the end. The text after the first X has a random length in
 * [0, seqLen + 1 − 2·|X|], so the copy distance varies from |X| to seqLen − |X| tokens: beyond any
 * sliding window shorter than |X|, where only retrieval can predict the repeat. With "answer" loss
 * only the repeat's predictable tokens (all but its first) carry loss.
 */
export function copySequence(data: TrainData, stage: Stage, task: CopyTask, rng: Rng, split: Split = 'train'): TrainSequence {
  if (task.span === 'episodes') return inductionSequence(data, stage, rng, task.distance);
  if (task.span === 'self') return selfCopySequence(data, stage, rng);
  const L = stage.seqLen;
  const m = Math.floor(L / 4);
  const text = split === 'train' ? data.tokens : data.heldOut;
  let span: Int32Array;
  if (task.span === 'text') {
    const at = rng.int(0, text.length - m);
    span = text.slice(at, at + m);
  } else span = Int32Array.from({ length: m }, () => rng.int(data.specialTokens, data.vocabSize - 1));
  const free = L + 1 - 2 * m;
  const gap = rng.int(0, free);
  const start = rng.int(0, text.length - free);
  const all = new Int32Array(L + 1);
  all.set(text.subarray(start, start + free - gap), 0);
  all.set(span, free - gap);
  all.set(text.subarray(start + free - gap, start + free), free - gap + m);
  all.set(span, L + 1 - m);
  const targets = all.slice(1);
  if (stage.synthetic.loss === 'answer') targets.fill(IGNORE, 0, L + 1 - m);
  return { ids: all.subarray(0, L), targets };
}

/**
 * Span lengths and gaps of the episodes of `induction` (gap log-uniform up to seqLen/2),
 * `induction_near`, `induction_far` and `induction_keyed` (each span led by a key token of its own).
 */
const EPISODES = {
  mixed: { span: [8, 32], gap: null, keyed: false },
  near: { span: [8, 16], gap: [0, 8], keyed: false },
  far: { span: [16, 32], gap: [64, 192], keyed: false },
  keyed: { span: [8, 16], gap: [64, 192], keyed: true },
} as const;

/**
 * An `induction` sequence: episodes (span, gap, span) packed from the start, spans and gaps random
 * printable characters (one token each: a small alphabet, so the model first learns which tokens can
 * come and then to copy; over the full vocabulary a model of the built-in size spent 400 steps
 * learning the uniform distribution), the gap's length log-uniform in [0, seqLen/2] (half the
 * repeats within 32 tokens, a third beyond 64). With "answer" loss every repeat's predictable
 * tokens carry loss. `near` and `far`: spans and gaps uniform in the ranges of EPISODES. `keyed`:
 * each span starts with a key token no other episode of the sequence uses, so the chunk holding the
 * first copy is the one chunk that holds that key: a landmark can mark it, where a span of random
 * characters looks like every other chunk (the far repeats of `induction_far` stayed at chance in
 * every run); the key's repeat predicts the whole span, its first token included.
 */
function inductionSequence(data: TrainData, stage: Stage, rng: Rng, distance: keyof typeof EPISODES): TrainSequence {
  const L = stage.seqLen;
  const chars = data.characters;
  const all = Int32Array.from({ length: L + 1 }, () => chars[rng.int(0, chars.length - 1)]);
  const keep = new Uint8Array(L + 1);
  const maxGap = Math.floor(L / 2);
  const { span, gap: gaps, keyed } = EPISODES[distance];
  const keys = keyed ? rng.shuffle(Array.from(data.keys)) : [];
  for (let at = 0; ; ) {
    const m = rng.int(span[0], span[1]) + (keyed ? 1 : 0);
    const gap = gaps ? rng.int(gaps[0], gaps[1]) : Math.floor(Math.exp(rng.next() * Math.log(maxGap + 1))) - 1;
    if (at + 2 * m + gap > L + 1 || (keyed && keys.length === 0)) break;
    if (keyed) all[at] = keys.pop()!;
    all.copyWithin(at + m + gap, at, at + m);
    keep.fill(1, at + m + gap + 1, at + 2 * m + gap);
    at += 2 * m + gap;
  }
  const targets = all.slice(1);
  if (stage.synthetic.loss === 'answer') for (let i = 0; i < L; i++) if (!keep[i + 1]) targets[i] = IGNORE;
  return { ids: all.subarray(0, L), targets };
}

/**
 * A `self_copy` sequence: ⌈(seqLen + 1)/2⌉ random printable characters, then the same again (cut to
 * seqLen + 1 tokens). With "answer" loss the repeat's predictable tokens (all but its first) carry loss.
 */
function selfCopySequence(data: TrainData, stage: Stage, rng: Rng): TrainSequence {
  const L = stage.seqLen;
  const m = Math.ceil((L + 1) / 2);
  const chars = data.characters;
  const all = new Int32Array(L + 1);
  for (let i = 0; i < m; i++) all[i] = chars[rng.int(0, chars.length - 1)];
  all.copyWithin(m, 0, L + 1 - m);
  const targets = all.slice(1);
  if (stage.synthetic.loss === 'answer') targets.fill(IGNORE, 0, m);
  return { ids: all.subarray(0, L), targets };
}

/** A retrieval sample of the task: prompt + answer = seqLen + 1 tokens. */
export function retrievalSequence(data: TrainData, stage: Stage, task: TrainTask, rng: Rng, split: Split = 'train'): TrainSequence {
  if (task.kind === 'copy') return copySequence(data, stage, task, rng, split);
  const L = stage.seqLen;
  const base = { task, depth: rng.int(0, 100), seed: data.seed, index: rng.int(0, 2 ** 30), tokenizer: data.tokenizer, corpus: data.corpus, split };
  // the content (keys, values) depends on seed, task, split and index only, not on the length
  const answer = Int32Array.from(data.tokenizer.encode(answerText(generateSample({ ...base, length: L }).answers)));
  const all = new Int32Array(L + 1);
  let at = 0;
  for (const piece of generateSample({ ...base, length: L + 1 - answer.length }).pieces()) {
    all.set(piece, at);
    at += piece.length;
  }
  all.set(answer, at);
  const targets = all.slice(1);
  if (stage.synthetic.loss === 'answer') targets.fill(IGNORE, 0, L - answer.length);
  return { ids: all.subarray(0, L), targets };
}

/** The sequences of global step `step` (0-based) in `stage`: a pure function of (seed, step). */
export function makeBatch(data: TrainData, stage: Stage, step: number): TrainSequence[] {
  const rng = Rng.from(data.seed, 'batch', step);
  const { fraction, tasks, weight } = stage.synthetic;
  return Array.from({ length: stage.batch }, () => {
    if (rng.next() < fraction) {
      const seq = retrievalSequence(data, stage, tasks[rng.int(0, tasks.length - 1)], rng);
      return weight === undefined ? seq : { ...seq, weight };
    }
    const seq = textWindow(data.tokens, stage.seqLen, rng);
    return weight === undefined ? seq : { ...seq, weight: 1 };
  });
}

/** `n` windows of the held-out text, the same at every call with the same (seed, seqLen). */
export function heldOutBatch(data: TrainData, seqLen: number, n: number): TrainSequence[] {
  const rng = Rng.from(data.seed, 'held-out', seqLen);
  return Array.from({ length: n }, () => textWindow(data.heldOut, seqLen, rng));
}

/**
 * `n` retrieval sequences of the stage's tasks in turn, built from the evaluation split (held-out
 * paragraphs and keys) with the loss on the answers only: the same at every call with the same
 * (seed, stage). Their loss is the held-out retrieval curve (≈ ln 10 per digit while the model guesses).
 */
export function heldOutRetrievalBatch(data: TrainData, stage: Stage, n: number): TrainSequence[] {
  const rng = Rng.from(data.seed, 'held-out-retrieval', stage.seqLen);
  const answers = { ...stage, synthetic: { ...stage.synthetic, loss: 'answer' as const } };
  const { tasks } = stage.synthetic;
  return Array.from({ length: tasks.length > 0 ? n : 0 }, (_, k) => retrievalSequence(data, answers, tasks[k % tasks.length], rng, 'eval'));
}

/** Fails early, naming the field, when a stage's sequences cannot be built (too short for a task, longer than the corpus). */
export function checkStages(data: TrainData, recipe: Recipe): void {
  recipe.stages.forEach((stage, i) => {
    const shortest = recipe.eval.sequences > 0 ? Math.min(data.tokens.length, data.heldOut.length) : data.tokens.length;
    if (shortest <= stage.seqLen + 1) {
      throw new RecipeError(`stages[${i}].seqLen`, `${stage.seqLen} needs more than the ${shortest} tokens of the corpus' training (or held-out) split`);
    }
    for (const task of stage.synthetic.fraction > 0 ? stage.synthetic.tasks : []) {
      try {
        retrievalSequence(data, stage, task, Rng.from(data.seed, 'check', i));
      } catch (e) {
        if (e instanceof TaskError) throw new RecipeError(`stages[${i}].seqLen`, `too short for ${task.name}: ${e.message}`);
        throw e;
      }
    }
  });
}
