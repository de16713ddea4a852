/**
 * What `hsa eval` and `hsa needle` share: size lists ("4k,1m"), the task tokenizer over a
 * tokenizer.json, the haystack corpus, and the solver that streams a sample's prompt into the model,
 * generates the answer greedily and records its prefill time and every answer token's retrieval,
 * plus the test "did a retrieval choose the needle's chunk".
 */
import { readFile } from 'node:fs/promises';
import type { HsaModel, RetrievalStep } from '@hsa/model';
import { ArgumentError } from '@hsa/tensor';
import { type Corpus, type Sample, type Solver, splitCorpus, TASKS, type TaskSpec, type TaskTokenizer } from '@hsa/tasks';
import { loadShakespeare } from '@hsa/tasks/node';
import type { Tokenizer } from '@hsa/tokenizer';

/** "1k,64K,1m" → [1024, 65536, 1048576]; plain numbers as they are. `cmd` and `what` name the flag in errors. */
export function parseSizes(s: string, what: string, cmd = 'eval'): number[] {
  return s.split(',').map((x) => {
    const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(x.trim());
    if (!m) throw new ArgumentError(`${cmd}: ${what} must be comma-separated numbers (1k = 1024, 1m = 1048576), got ${s}`);
    const unit = m[2].toLowerCase() === 'k' ? 1024 : m[2].toLowerCase() === 'm' ? 1 << 20 : 1;
    return Math.round(Number(m[1]) * unit);
  });
}

/** The TASKS presets named in a comma-separated list. */
export function taskSpecs(names: string, cmd = 'eval'): TaskSpec[] {
  return names.split(',').map((n) => {
    const t = (TASKS as Record<string, TaskSpec>)[n.trim()];
    if (!t) throw new ArgumentError(`${cmd}: unknown task '${n}' (known: ${Object.keys(TASKS).join(', ')})`);
    return t;
  });
}

/** A tokenizer.json tokenizer as @hsa/tasks needs it: texts encoded alone, without BOS/EOS. */
export const taskTokenizer = (tok: Tokenizer): TaskTokenizer => ({
  encode: (t: string) => tok.encode(t, { addSpecialTokens: false }),
  decode: (ids: ArrayLike<number>) => tok.decode(ids),
});

/** The haystack corpus: a text file's paragraphs, or the Tiny Shakespeare shipped with @hsa/tasks. */
export async function loadCorpus(path?: string): Promise<Corpus> {
  return path ? splitCorpus(await readFile(path, 'utf8')) : loadShakespeare();
}

/**
 * The chunks holding the queried needles' tokens (chunk c holds tokens [c·S, (c+1)·S)). A needle
 * (~30 tokens) often spans two chunks; the value sits in its last one, so every chunk it touches counts.
 */
export function needleChunks(sample: Sample, chunkSize: number): Set<number> {
  const chunks = new Set<number>();
  for (const n of sample.needles) {
    if (!n.queried) continue;
    for (let c = Math.floor(n.start / chunkSize); c <= Math.floor((n.start + n.length - 1) / chunkSize); c++) chunks.add(c);
  }
  return chunks;
}

/** Whether any HSA layer of the step chose (with a weight > 0) one of `chunks`. */
export function stepHits(step: RetrievalStep | undefined, chunks: ReadonlySet<number>): boolean {
  if (!step) return false;
  return step.layers.some((l) => Array.from(l.chunks).some((c, i) => l.weights[i] > 0 && chunks.has(c)));
}

/** One solved sample: the answer, the prefill time, and the retrieval of each answer token. */
export interface Solved {
  sample: Sample;
  text: string;
  prefillSeconds: number;
  steps: RetrievalStep[];
}

export interface SolverOptions {
  maxNewTokens: number;
  segment?: number;
  signal?: AbortSignal;
  /** prefill progress of the current sample */
  onPrefill?: (done: number, total: number) => void;
  /** called with every solved sample before the grid scores it */
  onSolved?: (s: Solved) => void;
}

/** A @hsa/tasks solver: the prompt streamed into the model, the answer greedy up to a newline. */
export function modelSolver(model: HsaModel, tok: Tokenizer, o: SolverOptions): Solver {
  return async (sample) => {
    const steps: RetrievalStep[] = [];
    const r = await model.generateText(
      { length: sample.length, pieces: () => sample.pieces() },
      { maxNewTokens: o.maxNewTokens, tokenizer: tok, stop: ['\n'], segment: o.segment, signal: o.signal, onPrefill: o.onPrefill, onRetrieval: (s) => steps.push(s) },
    );
    const seconds = r.prefillMs / 1000;
    o.onSolved?.({ sample, text: r.text, prefillSeconds: seconds, steps });
    return { text: r.text, seconds, tokens: sample.length };
  };
}
