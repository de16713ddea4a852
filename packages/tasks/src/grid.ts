// The evaluation grid: tasks × lengths × depths × samples, each sample generated, solved by the
// caller's `solve` (the model's generation, an API, a test stub), scored, and aggregated per cell.
import type { Corpus, Split } from './corpus.js';
import { check } from './errors.js';
import { generateSample, type Sample } from './sample.js';
import { aggregate, score } from './score.js';
import type { TaskSpec } from './tasks.js';
import type { TaskTokenizer } from './tokens.js';

/** A solver's answer with optional timing: `tokens` processed (default the prompt length) in `seconds`. */
export interface SolveResult {
  text: string;
  seconds?: number;
  tokens?: number;
}

/** Answers one sample: the generated text, or the text with timing. */
export type Solver = (sample: Sample) => Promise<string | SolveResult>;

/** Reported after each sample. */
export interface GridProgress {
  done: number;
  total: number;
  sample: Sample;
  prediction: string;
  score: number;
}

/** Options of `runGrid`. */
export interface GridOptions {
  tasks: readonly TaskSpec[];
  lengths: readonly number[];
  /** percentages, 0..100 */
  depths: readonly number[];
  /** samples per cell */
  samples: number;
  seed: number;
  tokenizer: TaskTokenizer;
  solve: Solver;
  /** required when a task has a text haystack */
  corpus?: Corpus;
  /** default `eval` */
  split?: Split;
  onProgress?: (progress: GridProgress) => void;
  /** checked between samples */
  signal?: AbortSignal;
}

/** One cell of the grid: mean score with its Wilson 95% interval, and throughput when timed. */
export interface GridRow {
  task: string;
  length: number;
  depth: number;
  n: number;
  accuracy: number;
  ciLow: number;
  ciHigh: number;
  /** Σ tokens / Σ seconds over the cell, or null unless every answer reported its seconds */
  tokensPerSecond: number | null;
}

function checkGrid(o: GridOptions): void {
  for (const [field, list] of [['tasks', o.tasks], ['lengths', o.lengths], ['depths', o.depths]] as const) {
    check(list.length > 0, field, 'a non-empty list', list);
  }
  check(Number.isInteger(o.samples) && o.samples >= 1, 'samples', 'a positive integer', o.samples);
}

async function runCell(o: GridOptions, task: TaskSpec, length: number, depth: number, done: number, total: number): Promise<GridRow> {
  const scores: number[] = [];
  let tokens = 0;
  let seconds = 0;
  let timed = true;
  for (let index = 0; index < o.samples; index++) {
    o.signal?.throwIfAborted();
    const sample = generateSample({ task, length, depth, seed: o.seed, index, tokenizer: o.tokenizer, corpus: o.corpus, split: o.split });
    const got = await o.solve(sample);
    const result = typeof got === 'string' ? { text: got } : got;
    const s = score(result.text, sample.answers);
    scores.push(s);
    if (result.seconds === undefined) timed = false;
    else {
      tokens += result.tokens ?? sample.length;
      seconds += result.seconds;
    }
    o.onProgress?.({ done: done + index + 1, total, sample, prediction: result.text, score: s });
  }
  const tokensPerSecond = timed && seconds > 0 ? tokens / seconds : null;
  return { task: task.name, length, depth, ...aggregate(scores), tokensPerSecond };
}

/** Runs the grid cell by cell (one sample at a time) and returns one row per (task, length, depth). */
export async function runGrid(options: GridOptions): Promise<GridRow[]> {
  checkGrid(options);
  const total = options.tasks.length * options.lengths.length * options.depths.length * options.samples;
  const rows: GridRow[] = [];
  for (const task of options.tasks) {
    for (const length of options.lengths) {
      for (const depth of options.depths) {
        rows.push(await runCell(options, task, length, depth, rows.length * options.samples, total));
      }
    }
  }
  return rows;
}
