/**
 * `hsa needle`: the README's main job. The built-in model (models/builtin/, or --model DIR) reads an
 * S-NIAH prompt at a long context on whatever backend exists: the protocol of `hsa eval` (held-out
 * paragraphs of the corpus as the haystack, evaluation keys, 7-digit values), depths 0..100%, the
 * answer greedy. Prints a line per sample (expected value, answer, prefill tokens/s, the chunks each
 * HSA layer retrieved for the answer's tokens with the needle's chunk marked) and a summary (accuracy
 * with its Wilson 95% interval, mean tokens/s, needle-chunk retrieval rate, backend and adapter).
 * The default length depends on the backend, so the default run ends in ≤ 5 minutes (see
 * DEFAULT_LENGTH).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HsaModel } from '@hsa/model';
import { loadModelDir } from '@hsa/model/node';
import { ArgumentError, type Backend, createBackend, type CreateBackendOptions, HsaError } from '@hsa/tensor';
import { MATRIX_UNITS_FLAG, MATRIX_UNITS_HELP, matrixUnitsOptions } from '../backend-options.js';
import { aggregate, runGrid } from '@hsa/tasks';
import type { Command } from 'commander';
import { loadCorpus, modelSolver, needleChunks, parseSizes, type Solved, taskSpecs, taskTokenizer } from '../long-context.js';
import { type ProgressBar, progressBar } from '../progress.js';
import { loadTokenizer } from './generate.js';
import { formatSample, formatSummary, type NeedleSample, rankChunks } from './needle-report.js';

/** The built-in model at the repository root (this file is apps/cli/{src,dist}/commands/needle.*, so the cwd does not matter). */
export const BUILTIN_MODEL_DIR = fileURLToPath(new URL('../../../../models/builtin', import.meta.url));

export type BackendKind = 'cpu' | 'software' | 'gpu';

/**
 * Default prompt length per backend kind: the default run (5 samples) ends in ≤ 5 minutes on the
 * 2-core CPU machine. Measured on 2026-11-28 with the built-in config (recipes/builtin.json, 7.68M
 * parameters, bf16), the machine shared with other jobs (load average ~7, this process getting about
 * half a core; the CPU seconds it used estimate an idle machine):
 * - CPU backend (matmul ref v2, dense attention ref v2): 60-115 tokens/s prefill at 2K-4K, 70-170 ms
 *   per decoded token. The default run at 4K: 264 s (151 s of CPU time); at 2K: 170 s (77 s).
 *   Before matmul ref v2: 31 tokens/s at 1K.
 * - WebGPU on SwiftShader: 6 tokens/s prefill, 13 s per decoded token, so 5 samples take > 5 min at
 *   any length (the answer alone is ~10 tokens); `auto` takes the CPU there (chooseBackend).
 * - A real GPU: 1M tokens (docs/benchmarks.md: ~32K tokens/s prefill on the H200, a larger model).
 */
export const DEFAULT_LENGTH: Record<BackendKind, number> = { cpu: 4096, software: 256, gpu: 1 << 20 };

export interface NeedleOptions {
  /** model directory (default BUILTIN_MODEL_DIR) */
  model?: string;
  /** cpu, webgpu or auto (default): WebGPU on a hardware adapter, else the CPU */
  backend?: string;
  /** WebGPU: f16 subgroup matrices for the chunk attention where the adapter offers them (--matrix-units) */
  matrixUnits?: boolean;
  /** prompt length in tokens ("16k", "1m"); default DEFAULT_LENGTH of the backend */
  length?: string;
  /** needle depths in percent (default "0,25,50,75,100") */
  depths?: string;
  /** samples per depth (default 1) */
  samples?: number;
  seed?: number;
  /** a TASKS name (default niah_single_2: S-NIAH, natural-text haystack, 7-digit values) */
  task?: string;
  maxNewTokens?: number;
  segment?: number;
  /** haystack text (default: the Tiny Shakespeare shipped with @hsa/tasks; held-out paragraphs) */
  corpus?: string;
  /** also write the report as JSON here */
  json?: string;
  /** progress bars on stderr (default: when stderr is a terminal) */
  progress?: boolean;
  signal?: AbortSignal;
  /** where the per-sample lines and the summary go (default console.log) */
  write?: (line: string) => void;
}

export interface NeedleReport {
  model: string;
  backend: 'cpu' | 'webgpu';
  adapter: string;
  software: boolean;
  /** why `auto` chose this backend, where it did not take the first one */
  note?: string;
  task: string;
  length: number;
  depths: number[];
  samplesPerDepth: number;
  seed: number;
  samples: NeedleSample[];
  summary: {
    n: number;
    accuracy: number;
    /** Wilson 95% interval of the accuracy */
    ciLow: number;
    ciHigh: number;
    /** Σ prompt tokens / Σ prefill seconds */
    tokensPerSecond: number;
    /** fraction of samples where an answer token's retrieval chose the needle's chunk */
    needleRetrievalRate: number;
    seconds: number;
  };
}

/** A model directory that is not there (code E_BAD_CHECKPOINT); the message names the path. */
export class ModelDirError extends HsaError {
  constructor(
    readonly dir: string,
    builtin: boolean,
  ) {
    const hint = builtin ? 'the built-in model is not in this checkout; pass --model DIR (a directory written by `hsa train`)' : 'pass --model with a directory holding config.json, model.safetensors and tokenizer.json';
    super('E_BAD_CHECKPOINT', `needle: model directory ${dir} not found (no config.json there): ${hint}`);
  }
}

/** The backend and its kind; `auto` takes the CPU over a software adapter, which is slower (DEFAULT_LENGTH). */
export async function chooseBackend(name: string, options: CreateBackendOptions = {}): Promise<{ backend: Backend; kind: BackendKind; note?: string }> {
  if (!['cpu', 'webgpu', 'auto'].includes(name)) throw new ArgumentError(`needle: --backend must be cpu, webgpu or auto, got ${name}`);
  let note: string | undefined;
  const backend = await createBackend(name as 'cpu' | 'webgpu' | 'auto', { ...options, onFallback: (why) => (note = `no WebGPU (${why}): the CPU backend`) });
  if (backend.name === 'cpu') return { backend, kind: 'cpu', note };
  const info = backend.report();
  if (!info.software) return { backend, kind: 'gpu' };
  if (name === 'webgpu') return { backend, kind: 'software', note: `a software adapter: measured ~6 tokens/s prefill and ~13 s per answer token on 2 cores, so this takes several minutes a sample (the CPU backend is faster)` };
  backend.destroy();
  note = `WebGPU runs on a software adapter (${info.description}), slower than the CPU backend: the CPU backend (--backend webgpu forces it)`;
  return { backend: await createBackend('cpu'), kind: 'cpu', note };
}

function checkOptions(o: NeedleOptions): void {
  for (const [flag, v] of [['--samples', o.samples], ['--max-new-tokens', o.maxNewTokens], ['--segment', o.segment]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new ArgumentError(`needle: ${flag} must be a positive integer, got ${v}`);
  }
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) throw new ArgumentError(`needle: --seed must be an integer, got ${o.seed}`);
}

function modelDir(o: NeedleOptions): string {
  const dir = o.model ?? BUILTIN_MODEL_DIR;
  if (!existsSync(join(dir, 'config.json'))) throw new ModelDirError(dir, o.model === undefined);
  return dir;
}

function promptLength(o: NeedleOptions, kind: BackendKind): number {
  if (o.length === undefined) return DEFAULT_LENGTH[kind];
  const lengths = parseSizes(o.length, '--length', 'needle');
  if (lengths.length !== 1) throw new ArgumentError(`needle: --length takes one length, got ${o.length} (hsa eval runs grids)`);
  return lengths[0];
}

/** Runs the needle task on the model and returns the report; prints through `write` as it goes. */
export async function runNeedle(o: NeedleOptions = {}): Promise<NeedleReport> {
  const t0 = performance.now();
  checkOptions(o);
  const dir = modelDir(o);
  const tasks = taskSpecs(o.task ?? 'niah_single_2', 'needle');
  if (tasks.length !== 1) throw new ArgumentError(`needle: --task takes one task, got ${o.task}`);
  const depths = parseSizes(o.depths ?? '0,25,50,75,100', '--depths', 'needle');
  if (depths.some((d) => d > 100)) throw new ArgumentError(`needle: --depths are percentages in 0..100, got ${o.depths}`);
  const tok = (await loadTokenizer({ model: dir }))!;
  const { backend, kind, note } = await chooseBackend(o.backend ?? 'auto', matrixUnitsOptions(o));
  const length = promptLength(o, kind);
  const write = o.write ?? ((s: string) => console.log(s));
  const info = backend.report();
  let model: HsaModel | undefined;
  let bar: ProgressBar | undefined;
  const samples: NeedleSample[] = [];
  try {
    model = await loadModelDir(backend, dir);
    const S = model.config.chunkSize;
    write(`needle: ${tasks[0].name} at ${length} tokens, depths ${depths.join(',')}%, ${o.samples ?? 1} per depth; ${dir} on ${backend.name} (${info.description})${note ? `\n  ${note}` : ''}`);
    const onSolved = (s: Solved) => {
      bar?.stop();
      bar = undefined;
      samples.push(sampleReport(s, S));
    };
    const showBars = o.progress ?? process.stderr.isTTY === true;
    const onPrefill = (done: number, total: number) => {
      if (!showBars) return;
      bar ??= progressBar(`prefill ${samples.length + 1}`, 'tokens');
      bar.update(done, total);
    };
    await runGrid({
      tasks,
      lengths: [length],
      depths,
      samples: o.samples ?? 1,
      seed: o.seed ?? 1,
      tokenizer: taskTokenizer(tok),
      corpus: await loadCorpus(o.corpus),
      solve: modelSolver(model, tok, { maxNewTokens: o.maxNewTokens ?? 12, segment: o.segment ?? barSegment(length, model.config.inferenceSegment), signal: o.signal, onPrefill, onSolved }),
      signal: o.signal,
      onProgress: (p) => {
        const s = samples[samples.length - 1];
        s.score = p.score;
        s.correct = p.score === 1;
        write(formatSample(s));
      },
    });
  } finally {
    bar?.stop();
    model?.dispose();
    backend.destroy();
  }
  const report: NeedleReport = {
    model: dir,
    backend: backend.name,
    adapter: info.description,
    software: info.software === true,
    note,
    task: tasks[0].name,
    length,
    depths,
    samplesPerDepth: o.samples ?? 1,
    seed: o.seed ?? 1,
    samples,
    summary: summarize(samples, (performance.now() - t0) / 1000),
  };
  write(formatSummary(report));
  if (o.json) await writeFile(o.json, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** A prefill segment that moves the bar ~32 times per prompt: ≥ 256 tokens, at most the config's (the same logits: prefill is exact in segments). */
const barSegment = (length: number, configSegment: number) => Math.min(configSegment, Math.max(256, 2 ** Math.ceil(Math.log2(length / 32))));

function sampleReport(s: Solved, chunkSize: number): NeedleSample {
  const needle = needleChunks(s.sample, chunkSize);
  const layers = rankChunks(s.steps, needle);
  return {
    depth: s.sample.depth,
    index: s.sample.index,
    expected: [...s.sample.answers],
    answer: s.text,
    score: 0,
    correct: false,
    prefillSeconds: s.prefillSeconds,
    tokensPerSecond: s.prefillSeconds > 0 ? s.sample.length / s.prefillSeconds : 0,
    needleChunks: [...needle].sort((a, b) => a - b),
    layers,
    needleRetrieved: layers.some((l) => l.chunks.some((c) => c.needle)),
  };
}

function summarize(samples: NeedleSample[], seconds: number): NeedleReport['summary'] {
  const a = aggregate(samples.map((s) => s.score));
  const tokens = samples.reduce((t, s) => t + s.tokensPerSecond * s.prefillSeconds, 0);
  const prefill = samples.reduce((t, s) => t + s.prefillSeconds, 0);
  const retrieved = samples.filter((s) => s.needleRetrieved).length;
  return { ...a, tokensPerSecond: prefill > 0 ? tokens / prefill : 0, needleRetrievalRate: samples.length ? retrieved / samples.length : 0, seconds };
}

export function registerNeedle(program: Command): void {
  const int = (v: string) => Number(v);
  program
    .command('needle')
    .description('the main job: the built-in model finds a needle at a long context (S-NIAH), with accuracy, tokens/s and the chunks it retrieved')
    .option('--model <dir>', 'model directory (config.json, model.safetensors, tokenizer.json)', BUILTIN_MODEL_DIR)
    .option('--backend <name>', 'cpu, webgpu or auto (WebGPU on a hardware adapter, else the CPU)', 'auto')
    .option(MATRIX_UNITS_FLAG, MATRIX_UNITS_HELP)
    .option('--length <n>', `prompt length in tokens, 16k = 16384, 1m = 1048576 (default per backend: CPU ${DEFAULT_LENGTH.cpu}, software WebGPU ${DEFAULT_LENGTH.software}, GPU ${DEFAULT_LENGTH.gpu})`)
    .option('--depths <list>', 'needle depths in percent', '0,25,50,75,100')
    .option('--samples <n>', 'samples per depth', int, 1)
    .option('--seed <n>', 'task seed', int, 1)
    .option('--task <name>', 'task preset (hsa eval --help lists them)', 'niah_single_2')
    .option('--max-new-tokens <n>', 'answer length at most', int, 12)
    .option('--segment <n>', 'prefill segment length', int)
    .option('--corpus <file>', 'haystack text (default: the Tiny Shakespeare shipped with @hsa/tasks; held-out paragraphs)')
    .option('--json <file>', 'also write the report as JSON')
    .action(async (opts: NeedleOptions) => {
      const ac = new AbortController();
      const onInt = () => ac.abort(new Error('interrupted'));
      process.once('SIGINT', onInt);
      try {
        // the default --model is the built-in one: pass undefined so a missing one says so
        await runNeedle({ ...opts, model: opts.model === BUILTIN_MODEL_DIR ? undefined : opts.model, signal: ac.signal });
      } finally {
        process.off('SIGINT', onInt);
      }
    });
}
