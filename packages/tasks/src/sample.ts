// One prompt of a task at an exact length in tokens, with its needles at a depth measured in tokens.
// Layout: header | filler | needle | filler | ... | question. The header, needles and question are
// tokenized on their own; the filler is the haystack's token stream cut to exactly the tokens left,
// so the length is exact by construction for any tokenizer. The prompt is never built: `pieces()`
// walks the layout and streams views of memoized paragraph tokens.
import { type Corpus, type Split, splitParagraphs } from './corpus.js';
import { check, TaskError } from './errors.js';
import { Rng } from './rng.js';
import { type Content, type NeedleText, type TaskSpec, taskContent } from './tasks.js';
import { encodeCached, fillerPieces, rechunk, type TaskTokenizer, TokenCursor } from './tokens.js';

/** Options of `generateSample`. */
export interface SampleOptions {
  task: TaskSpec;
  /** prompt length in tokens, exact */
  length: number;
  /** depth of the task's anchor needle in percent of the haystack tokens: 0 right after the header, 100 right before the question */
  depth: number;
  seed: number;
  /** sample number within (seed, task): the content (keys, values, haystack order) depends on seed, task, split and index only */
  index?: number;
  tokenizer: TaskTokenizer;
  /** required for text haystacks */
  corpus?: Corpus;
  /** `eval` (default): held-out paragraphs and evaluation keys; `train`: the training ones */
  split?: Split;
}

/** A needle as placed in the prompt. */
export interface Needle {
  key: string;
  value: string;
  text: string;
  /** position of the needle's first token in the prompt (its chunk is floor(start / S)) */
  start: number;
  /** tokens in the needle */
  length: number;
  /** whether the question asks about it */
  queried: boolean;
}

/** One generated prompt: what it asks and expects, where the needles are, and its token stream. */
export interface Sample {
  task: string;
  split: Split;
  length: number;
  depth: number;
  seed: number;
  index: number;
  /** the text that ends the prompt (question and answer prefix) */
  question: string;
  /** the strings a correct answer contains */
  answers: readonly string[];
  /** needles in prompt order */
  needles: readonly Needle[];
  /** The prompt as views into shared token arrays (do not modify them); exactly `length` tokens. */
  pieces(): Generator<Int32Array>;
  /** The prompt as fresh arrays of `chunk` tokens (default 65536; the last one shorter). */
  tokens(chunk?: number): Generator<Int32Array>;
}

type Step = { ids: Int32Array } | { fill: number };

function checkOptions(o: SampleOptions): void {
  check(Number.isSafeInteger(o.length) && o.length >= 1, 'length', 'a positive integer', o.length);
  check(Number.isFinite(o.depth) && o.depth >= 0 && o.depth <= 100, 'depth', 'a percentage in 0..100', o.depth);
  check(Number.isSafeInteger(o.seed), 'seed', 'an integer', o.seed);
  check(Number.isSafeInteger(o.index ?? 0) && (o.index ?? 0) >= 0, 'index', 'a non-negative integer', o.index);
  if (o.tokenizer.encode('').length !== 0) {
    throw new TaskError('E_BAD_INPUT', 'tokenizer.encode adds tokens to every text (BOS/EOS?); pass one that encodes the text alone (see TaskTokenizer)');
  }
  if (o.task.haystack === 'text' && o.corpus === undefined) {
    throw new TaskError('E_NO_CORPUS', `${o.task.name}: a text haystack needs options.corpus (e.g. loadShakespeare() from @hsa/tasks/node)`);
  }
}

/** Haystack offsets (0..budget) of the needles: anchor at the depth, others drawn, chains kept in order. */
function placeNeedles(needles: readonly NeedleText[], budget: number, depth: number, rng: Rng): number[] {
  const anchor = Math.round((depth / 100) * budget);
  const at = needles.map((n) => (n.place === 'depth' ? anchor : n.place === 'after' ? rng.int(anchor, budget) : rng.int(0, budget)));
  const chains = new Set(needles.map((n) => n.chain).filter((c) => c !== undefined));
  for (const c of chains) {
    const members = needles.flatMap((n, i) => (n.chain === c ? [i] : []));
    const sorted = members.map((i) => at[i]).sort((a, b) => a - b);
    for (let k = 0; k < members.length; k++) at[members[k]] = sorted[k];
  }
  return at;
}

interface Layout {
  steps: Step[];
  needles: Needle[];
}

/** The steps of the prompt (fixed tokens or filler counts) and the needles' positions. */
function layout(content: Content, header: Int32Array, question: Int32Array, needleIds: Int32Array[], at: number[], budget: number): Layout {
  const order = at.map((_, i) => i).sort((a, b) => at[a] - at[b] || a - b);
  const steps: Step[] = [{ ids: header }];
  const needles: Needle[] = [];
  let pos = header.length;
  let filled = 0;
  for (const i of order) {
    steps.push({ fill: at[i] - filled }, { ids: needleIds[i] });
    pos += at[i] - filled;
    filled = at[i];
    const n = content.needles[i];
    needles.push({ key: n.key, value: n.value, text: n.text, start: pos, length: needleIds[i].length, queried: n.queried });
    pos += needleIds[i].length;
  }
  steps.push({ fill: budget - filled }, { ids: question });
  return { steps, needles };
}

/** Generates one sample; cheap (the haystack is only walked when the stream is read). */
export function generateSample(options: SampleOptions): Sample {
  checkOptions(options);
  const { task, length, depth, seed, tokenizer } = options;
  const index = options.index ?? 0;
  const split = options.split ?? 'eval';
  const content = taskContent(task, Rng.from(seed, task.name, split, index), split);
  const header = encodeCached(tokenizer, content.header);
  const question = Int32Array.from(tokenizer.encode('\n' + content.question));
  const needleIds = content.needles.map((n) => Int32Array.from(tokenizer.encode(n.text)));
  const budget = length - header.length - question.length - needleIds.reduce((s, ids) => s + ids.length, 0);
  if (budget < 0) {
    throw new TaskError('E_TOO_SHORT', `${task.name}: length ${length} is below the ${length - budget} tokens of header, needles and question`);
  }
  const at = placeNeedles(content.needles, budget, depth, Rng.from(seed, task.name, split, index, 'place'));
  const { steps, needles } = layout(content, header, question, needleIds, at, budget);
  const paragraphs = task.haystack === 'text' ? splitParagraphs(options.corpus!, split) : null;
  function* pieces(): Generator<Int32Array> {
    const cursor = new TokenCursor(fillerPieces(tokenizer, paragraphs, Rng.from(seed, task.name, split, index, 'haystack')), tokenizer);
    for (const s of steps) {
      if ('ids' in s) yield s.ids;
      else yield* cursor.take(s.fill);
    }
  }
  const meta = { task: task.name, split, length, depth, seed, index, question: content.question, answers: content.answers, needles };
  return { ...meta, pieces, tokens: (chunk = 65536) => rechunk(pieces(), chunk) };
}

/** The whole prompt as text (for short prompts: tests, printing, text-only solvers); at most `maxTokens`. */
export function promptText(sample: Sample, tokenizer: TaskTokenizer, maxTokens = 1 << 20): string {
  check(sample.length <= maxTokens, 'sample.length', `at most maxTokens (${maxTokens}); stream sample.tokens() instead`, sample.length);
  const ids: number[] = [];
  for (const piece of sample.pieces()) for (const id of piece) ids.push(id);
  return tokenizer.decode(ids);
}
