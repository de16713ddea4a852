/**
 * `hsa logits --model DIR --input IDS --output OUT [--backend cpu|webgpu]`: the full-sequence
 * forward of a model directory. IDS is a safetensors file holding `input_ids`, I32 or I64 of shape
 * [1, L]; OUT receives `logits`, F32 [1, L, vocab] (written atomically). A progress bar on stderr
 * follows the layers when it is a terminal.
 */
import { loadModelDir } from '@hsa/model/node';
import { ArgumentError, type BackendName, createBackend, serializeSafetensors } from '@hsa/tensor';
import { MATRIX_UNITS_FLAG, MATRIX_UNITS_HELP, matrixUnitsOptions } from '../backend-options.js';
import { readSafetensorsFile, writeFileAtomic } from '@hsa/tensor/node';
import type { Command } from 'commander';
import { progressBar } from '../progress.js';

export interface LogitsOptions {
  /** WebGPU: f16 subgroup matrices for the chunk attention where the adapter offers them (--matrix-units) */
  matrixUnits?: boolean;
  model: string;
  input: string;
  output: string;
  backend?: BackendName;
  /** config file (default <model>/config.json) */
  config?: string;
  /** show a progress bar (default: when stderr is a terminal) */
  progress?: boolean;
}

/** Reads `input_ids` (I32 or I64, [1, L]) from a safetensors file. */
export async function readInputIds(path: string): Promise<Int32Array> {
  const f = await readSafetensorsFile(path);
  const e = f.tensors.get('input_ids');
  if (!e) throw new ArgumentError(`${path}: no tensor 'input_ids' (it holds ${f.names.join(', ') || 'nothing'})`);
  if (e.dtype !== 'I32' && e.dtype !== 'I64') throw new ArgumentError(`${path}: input_ids is ${e.dtype}, expected I32 or I64`);
  if (e.shape.length !== 2 || e.shape[0] !== 1 || e.shape[1] < 1) {
    throw new ArgumentError(`${path}: input_ids has shape [${e.shape.join(', ')}], expected [1, L] with L ≥ 1 (batch 1)`);
  }
  return f.int32('input_ids');
}

/** Runs the forward and writes the logits; returns their shape. */
export async function runLogits(o: LogitsOptions): Promise<{ shape: number[]; backend: string; ms: number }> {
  const ids = await readInputIds(o.input);
  const backend = await createBackend(o.backend ?? 'auto', matrixUnitsOptions(o));
  const t0 = performance.now();
  const model = await loadModelDir(backend, o.model, { configPath: o.config });
  const bar = (o.progress ?? process.stderr.isTTY === true) ? progressBar('forward', 'layers') : null;
  try {
    const out = await model.forward(ids, { onProgress: bar?.update });
    const logits = (await out.data()) as Float32Array;
    out.dispose();
    bar?.stop();
    const shape = [1, ids.length, model.config.vocabSize];
    await writeFileAtomic(o.output, serializeSafetensors({ logits: { dtype: 'F32', shape, data: logits } }));
    return { shape, backend: backend.name, ms: performance.now() - t0 };
  } finally {
    bar?.stop();
    model.dispose();
    backend.destroy();
  }
}

export function registerLogits(program: Command): void {
  program
    .command('logits')
    .description('full-sequence logits of a model for token ids (safetensors in and out)')
    .requiredOption('--model <dir>', 'model directory (config.json, model.safetensors or its index)')
    .requiredOption('--input <ids>', 'safetensors file with input_ids, I32 or I64 [1, L]')
    .requiredOption('--output <out>', 'safetensors file to write: logits, F32 [1, L, vocab]')
    .option('--backend <name>', 'cpu, webgpu or auto', 'auto')
    .option(MATRIX_UNITS_FLAG, MATRIX_UNITS_HELP)
    .option('--config <file>', 'config file (default <dir>/config.json)')
    .action(async (opts: LogitsOptions) => {
      if (!['cpu', 'webgpu', 'auto'].includes(opts.backend ?? 'auto')) throw new ArgumentError(`--backend must be cpu, webgpu or auto, got ${opts.backend}`);
      const r = await runLogits(opts);
      console.error(`logits [${r.shape.join(', ')}] on ${r.backend} in ${(r.ms / 1000).toFixed(1)} s → ${opts.output}`);
    });
}
