/**
 * `hsa eval --model DIR`: the long-context task grid (@hsa/tasks) on a model: tasks × lengths ×
 * depths × samples, each prompt streamed into the model (never held as one string), the answer
 * generated greedily and scored as RULER does. Prints a table (and JSON with --json), with a progress
 * bar over samples; per cell: accuracy with its Wilson 95% interval, prefill tokens/s, and how often
 * the first answer token's retrieval chose a queried needle's chunk. With --json the file is rewritten
 * (atomically) after every sample with the samples so far and `complete: false`, so a run killed by a
 * time limit keeps what it answered; the finished file has the rows and `complete: true`.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { loadModelDir } from '@hsa/model/node';
import { type BackendName, createBackend } from '@hsa/tensor';
import { MATRIX_UNITS_FLAG, MATRIX_UNITS_HELP, matrixUnitsOptions } from '../backend-options.js';
import { formatGridTable, type GridRow, gridToJson, runGrid, TASKS } from '@hsa/tasks';
import type { Command } from 'commander';
import { loadCorpus, modelSolver, needleChunks, parseSizes, stepHits, taskSpecs, taskTokenizer } from '../long-context.js';
import { progressBar } from '../progress.js';
import { loadTokenizer } from './generate.js';

export interface EvalOptions {
  /** WebGPU: f16 subgroup matrices for the chunk attention where the adapter offers them (--matrix-units) */
  matrixUnits?: boolean;
  model: string;
  tasks?: string;
  lengths?: string;
  depths?: string;
  samples?: number;
  seed?: number;
  maxNewTokens?: number;
  backend?: BackendName;
  segment?: number;
  /** a text corpus to build haystacks from (default: the Tiny Shakespeare shipped with @hsa/tasks) */
  corpus?: string;
  json?: string;
  progress?: boolean;
  signal?: AbortSignal;
  /** after every sample, all samples so far */
  onSample?: (samples: readonly EvalSample[]) => void;
}

/** One answered sample: what was asked, what the model said, its score, whether retrieval hit the needle. */
export interface EvalSample {
  task: string;
  length: number;
  depth: number;
  index: number;
  expected: readonly string[];
  prediction: string;
  score: number;
  /** the first answer token's retrieval chose a queried needle's chunk */
  needleChunkHit: boolean;
  /** seconds the prompt's prefill took */
  prefillSeconds: number;
}

export interface EvalReport {
  backend: string;
  rows: (GridRow & { needleChunkHit: number })[];
  /** every sample in grid order (the JSON's `samples`) */
  samples: EvalSample[];
}

export async function runEval(o: EvalOptions): Promise<EvalReport> {
  const tok = (await loadTokenizer({ model: o.model }))!;
  const backend = await createBackend(o.backend ?? 'auto', matrixUnitsOptions(o));
  const model = await loadModelDir(backend, o.model);
  const bar = (o.progress ?? process.stderr.isTTY === true) ? progressBar('eval', 'samples') : null;
  const samples: EvalSample[] = [];
  let lastHit = false;
  let lastSeconds = 0;
  try {
    const rows = await runGrid({
      tasks: taskSpecs(o.tasks ?? 'niah_single_1'),
      lengths: parseSizes(o.lengths ?? '1024', 'lengths'),
      depths: parseSizes(o.depths ?? '0,50,100', 'depths'),
      samples: o.samples ?? 4,
      seed: o.seed ?? 1,
      tokenizer: taskTokenizer(tok),
      corpus: await loadCorpus(o.corpus),
      solve: modelSolver(model, tok, {
        maxNewTokens: o.maxNewTokens ?? 24,
        segment: o.segment,
        signal: o.signal,
        // the solved sample's retrieval and timing, recorded with its score in onProgress
        onSolved: ({ sample, steps, prefillSeconds }) => {
          lastHit = stepHits(steps[0], needleChunks(sample, model.config.chunkSize));
          lastSeconds = prefillSeconds;
        },
      }),
      signal: o.signal,
      onProgress: (p) => {
        const { task, length, depth, index, answers } = p.sample;
        samples.push({ task, length, depth, index, expected: answers, prediction: p.prediction, score: p.score, needleChunkHit: lastHit, prefillSeconds: lastSeconds });
        o.onSample?.(samples);
        bar?.update(p.done, p.total);
      },
    });
    // per cell: the share of its samples whose first answer token retrieved a queried needle's chunk
    const hitRate = (r: GridRow) => {
      const own = samples.filter((x) => x.task === r.task && x.length === r.length && x.depth === r.depth);
      return own.length ? own.filter((x) => x.needleChunkHit).length / own.length : 0;
    };
    return { backend: backend.name, rows: rows.map((r) => ({ ...r, needleChunkHit: hitRate(r) })), samples };
  } finally {
    bar?.stop();
    model.dispose();
    backend.destroy();
  }
}

/** Writes beside the target, then renames over it: a reader (or a kill) never sees half a file. */
function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2));
  renameSync(tmp, path);
}

export function registerEval(program: Command): void {
  const int = (v: string) => Number.parseInt(v, 10);
  program
    .command('eval')
    .description('long-context task grid (S-NIAH, MK/MV/MQ-NIAH, VT) over lengths × depths')
    .requiredOption('--model <dir>', 'model directory (config.json, weights, tokenizer.json)')
    .option('--tasks <names>', `comma-separated: ${Object.keys(TASKS).join(', ')}`, 'niah_single_1')
    .option('--lengths <list>', 'prompt lengths in tokens (1k = 1024, 1m = 1048576)', '1024')
    .option('--depths <list>', 'needle depths in percent', '0,50,100')
    .option('--samples <n>', 'samples per cell', int, 4)
    .option('--seed <n>', 'task seed', int, 1)
    .option('--max-new-tokens <n>', 'answer length at most', int, 24)
    .option('--backend <name>', 'cpu, webgpu or auto', 'auto')
    .option(MATRIX_UNITS_FLAG, MATRIX_UNITS_HELP)
    .option('--segment <n>', 'prefill segment length', int)
    .option('--corpus <file>', 'haystack text (default: the Tiny Shakespeare shipped with @hsa/tasks; held-out paragraphs)')
    .option('--json <file>', 'also write the rows as JSON')
    .action(async (opts: EvalOptions) => {
      const ac = new AbortController();
      const onInt = () => ac.abort(new Error('interrupted'));
      process.once('SIGINT', onInt);
      try {
        const json = opts.json;
        const onSample = json ? (samples: readonly EvalSample[]) => writeJsonAtomic(json, { complete: false, samples }) : undefined;
        const r = await runEval({ ...opts, signal: ac.signal, onSample });
        console.log(formatGridTable(r.rows));
        for (const row of r.rows) console.log(`${row.task} ${row.length} @${row.depth}%: needle chunk retrieved for ${(100 * row.needleChunkHit).toFixed(0)}% of samples`);
        if (json) writeJsonAtomic(json, { complete: true, backend: r.backend, rows: r.rows, grid: JSON.parse(gridToJson(r.rows)), samples: r.samples });
      } finally {
        process.off('SIGINT', onInt);
      }
    });
}
