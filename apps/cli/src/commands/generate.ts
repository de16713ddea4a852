/**
 * `hsa generate --model DIR (--prompt TEXT | --prompt-file F | --ids 1,2,3)`: streams a continuation
 * to stdout as it is generated. Text prompts need a tokenizer (`<DIR>/tokenizer.json` unless
 * --tokenizer names one). Sampling: --temperature (0 = greedy), --top-k, --top-p, --seed; stops:
 * --stop (repeatable), eos_token_id; --retrieval prints the chunks each token's HSA layers chose.
 * Ctrl-C stops the generation cleanly. A progress bar on stderr follows the prefill on a terminal.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GenerateOptions, GenerationResult, HsaModel, RetrievalStep } from '@hsa/model';
import { loadModelDir } from '@hsa/model/node';
import { ArgumentError, type BackendName, createBackend } from '@hsa/tensor';
import { MATRIX_UNITS_FLAG, MATRIX_UNITS_HELP, matrixUnitsOptions } from '../backend-options.js';
import { fromTokenizerJson, type Tokenizer } from '@hsa/tokenizer';
import type { Command } from 'commander';
import { megabytes, progressBar } from '../progress.js';

export interface GenerateCliOptions {
  /** WebGPU: f16 subgroup matrices for the chunk attention where the adapter offers them (--matrix-units) */
  matrixUnits?: boolean;
  model: string;
  prompt?: string;
  promptFile?: string;
  ids?: string;
  tokenizer?: string;
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  backend?: BackendName;
  segment?: number;
  retrieval?: boolean;
  /** GiB the model may use: the memory plan at prompt + maxNewTokens is checked before loading */
  memoryBudget?: number;
  /** keep chunk K/V in host memory (only the selected chunks go to the device) */
  hostMemory?: boolean;
  json?: boolean;
  progress?: boolean;
  signal?: AbortSignal;
  /** where streamed text goes (default process.stdout) */
  write?: (s: string) => void;
}

export interface GenerateReport extends GenerationResult {
  backend: string;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  retrieval: RetrievalStep[];
}

/** The tokenizer: --tokenizer, else <model>/tokenizer.json; null when neither exists and ids are given. */
export async function loadTokenizer(o: { model: string; tokenizer?: string; ids?: string }): Promise<Tokenizer | null> {
  const path = o.tokenizer ?? join(o.model, 'tokenizer.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    if (o.tokenizer || o.ids === undefined) throw new ArgumentError(`tokenizer ${path} not found (text needs one: pass --tokenizer, or --ids to generate from token ids)`);
    return null;
  }
  return fromTokenizerJson(text);
}

/** The prompt ids from exactly one of --prompt, --prompt-file, --ids. */
async function promptIds(o: GenerateCliOptions, tok: Tokenizer | null): Promise<number[]> {
  const given = [o.prompt, o.promptFile, o.ids].filter((v) => v !== undefined).length;
  if (given !== 1) throw new ArgumentError('generate: pass exactly one of --prompt, --prompt-file, --ids');
  if (o.ids !== undefined) {
    const ids = o.ids.split(',').map((s) => Number(s.trim()));
    if (ids.some((n) => !Number.isInteger(n))) throw new ArgumentError(`generate: --ids must be comma-separated integers, got ${o.ids}`);
    return ids;
  }
  const text = o.prompt ?? (await readFile(o.promptFile!, 'utf8'));
  return tok!.encode(text);
}

/** Generates from the model directory, streaming text through `write`; returns the result and speeds. */
export async function runGenerate(o: GenerateCliOptions): Promise<GenerateReport> {
  const tok = await loadTokenizer(o);
  const prompt = await promptIds(o, tok);
  const backend = await createBackend(o.backend ?? 'auto', matrixUnitsOptions(o));
  let model: HsaModel | null = null;
  const bars = o.progress ?? process.stderr.isTTY === true;
  const bar = bars ? progressBar('prefill', 'tokens') : undefined;
  const write = o.write ?? ((s: string) => process.stdout.write(s));
  const retrieval: RetrievalStep[] = [];
  try {
    const budget = o.memoryBudget === undefined ? undefined : { bytes: o.memoryBudget * 2 ** 30, context: prompt.length + (o.maxNewTokens ?? 128), segment: o.segment };
    const load = bars ? progressBar('weights', 'MB', megabytes) : undefined;
    model = await loadModelDir(backend, o.model, { budget, onProgress: load?.update });
    load?.stop();
    const options: GenerateOptions = {
      maxNewTokens: o.maxNewTokens,
      temperature: o.temperature,
      topK: o.topK,
      topP: o.topP,
      seed: o.seed,
      stop: o.stop,
      tokenizer: tok ?? undefined,
      signal: o.signal,
      segment: o.segment,
      memory: o.hostMemory ? 'host' : 'device',
      onPrefill: bar?.update,
      onRetrieval: o.retrieval ? (s) => retrieval.push(s) : undefined,
    };
    const it = model.generate(prompt, options);
    let r = await it.next();
    while (!r.done) {
      write(tok ? r.value.text : `${r.value.index ? ',' : ''}${r.value.id}`);
      r = await it.next();
    }
    const res = r.value;
    const perSec = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0);
    return { ...res, backend: backend.name, prefillTokensPerSecond: perSec(res.promptTokens, res.prefillMs), decodeTokensPerSecond: perSec(res.ids.length - 1, res.decodeMs), retrieval };
  } finally {
    bar?.stop();
    model?.dispose();
    backend.destroy();
  }
}

const int = (v: string) => Number.parseInt(v, 10);

function summary(r: GenerateReport): string {
  const lines = [
    `${r.ids.length} tokens (${r.finishReason}) on ${r.backend}, seed ${r.seed}`,
    `prefill ${r.promptTokens} tokens in ${(r.prefillMs / 1000).toFixed(2)} s (${r.prefillTokensPerSecond.toFixed(1)} tok/s), decode ${r.decodeTokensPerSecond.toFixed(2)} tok/s`,
  ];
  for (const s of r.retrieval) {
    const layers = s.layers.map((l) => `L${l.layer}:${Array.from(l.chunks.subarray(0, l.k)).join('/')}`).join(' ');
    lines.push(`token ${s.index} @${s.position}: ${layers || '(no chunk complete yet)'}`);
  }
  return lines.join('\n');
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('stream a continuation of a prompt (text with a tokenizer, or token ids)')
    .requiredOption('--model <dir>', 'model directory (config.json, model.safetensors or its index, tokenizer.json)')
    .option('--prompt <text>', 'prompt text')
    .option('--prompt-file <file>', 'prompt text from a file')
    .option('--ids <list>', 'prompt token ids, comma-separated')
    .option('--tokenizer <file>', 'tokenizer.json (default <dir>/tokenizer.json)')
    .option('--max-new-tokens <n>', 'tokens to generate at most', int, 128)
    .option('--temperature <t>', '0 is greedy', Number.parseFloat, 0)
    .option('--top-k <k>', 'candidates kept when sampling', int)
    .option('--top-p <p>', 'nucleus mass', Number.parseFloat)
    .option('--seed <n>', 'sampler seed', int)
    .option('--stop <text...>', 'stop sequences')
    .option('--backend <name>', 'cpu, webgpu or auto', 'auto')
    .option(MATRIX_UNITS_FLAG, MATRIX_UNITS_HELP)
    .option('--segment <n>', 'prefill segment length', int)
    .option('--retrieval', 'print the chunks each token retrieved')
    .option('--host-memory', 'keep chunk K/V in host memory (context bounded by host RAM, not GPU memory)')
    .option('--memory-budget <GiB>', 'fail before loading when the memory plan exceeds this', Number.parseFloat)
    .option('--json', 'print the result as JSON on stdout after the text')
    .action(async (opts: GenerateCliOptions) => {
      if (!['cpu', 'webgpu', 'auto'].includes(opts.backend ?? 'auto')) throw new ArgumentError(`--backend must be cpu, webgpu or auto, got ${opts.backend}`);
      const ac = new AbortController();
      const onInt = () => ac.abort(new Error('interrupted'));
      process.once('SIGINT', onInt);
      try {
        const r = await runGenerate({ ...opts, signal: ac.signal });
        process.stdout.write('\n');
        console.error(summary(r));
        if (opts.json) console.log(JSON.stringify({ ...r, retrieval: r.retrieval.map((s) => ({ ...s, layers: s.layers.map((l) => ({ ...l, chunks: Array.from(l.chunks), weights: Array.from(l.weights) })) })) }));
      } finally {
        process.off('SIGINT', onInt);
      }
    });
}
