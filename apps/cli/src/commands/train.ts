/**
 * `hsa train --recipe FILE --out DIR`: trains the recipe's model stage by stage (../train/runner.ts),
 * with a progress bar (loss, lr, tokens/s) on stderr. --resume continues DIR's checkpoint; --init starts
 * from a trained model's weights (fine-tuning, or later stages forked from one run); --steps
 * and --max-minutes stop early with a checkpoint (a long run split into commands of ≤ 10 minutes);
 * Ctrl-C stops after the step in flight, checkpoint written.
 */
import type { BackendName } from '@hsa/tensor';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { join } from 'node:path';
import { MATRIX_UNITS_FLAG, MATRIX_UNITS_HELP } from '../backend-options.js';
import { type LogLine, readLog, type StepLog } from '../train/log.js';
import { runTraining, type TrainOptions, type TrainResult } from '../train/runner.js';

export interface TrainCommandOptions extends Omit<TrainOptions, 'onStep' | 'onStart' | 'onEval'> {
  progress?: boolean;
  /** one line per `every` steps when there is no bar (default 10) */
  every?: number;
  write?: (s: string) => void;
}

const fmt = (r: StepLog) => `step ${r.step} [${r.stageName}] loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(2)} |g| ${r.gradNorm.toFixed(3)} ${Math.round(r.tokensPerSecond)} tok/s`;

/** The loss curve in a few lines: the train loss at ~`points` steps (mean of the steps since the last point) and every held-out loss. */
export function curveSummary(log: readonly LogLine[], points = 12): string {
  const steps = log.filter((l): l is StepLog => l.kind === 'train');
  const every = Math.max(1, Math.ceil(steps.length / points));
  const train: string[] = [];
  for (let i = 0; i < steps.length; i += every) {
    const part = steps.slice(i, i + every);
    train.push(`${part.at(-1)!.step}:${(part.reduce((a, r) => a + r.loss, 0) / part.length).toFixed(3)}`);
  }
  const evals = log.filter((l) => l.kind === 'eval');
  const held = evals.map((l) => `${l.step}:${l.loss.toFixed(3)}`);
  const answers = evals.filter((l) => l.retrievalLoss !== undefined).map((l) => `${l.step}:${l.retrievalLoss!.toFixed(3)}`);
  const retrieval = answers.length > 0 ? `held-out retrieval answers (step:loss) ${answers.join(' ')}\n` : '';
  return `train loss (step:mean) ${train.join(' ')}\nheld-out loss (step:loss) ${held.join(' ') || '-'}\n${retrieval}`;
}

/** Runs the training with a progress bar (or a line every `every` steps) and a closing summary. */
export async function runTrain(o: TrainCommandOptions): Promise<TrainResult> {
  const write = o.write ?? ((s: string) => process.stderr.write(s));
  const useBar = o.progress ?? process.stderr.isTTY === true;
  const bar = useBar
    ? new cliProgress.SingleBar(
        { format: 'train [{bar}] {value}/{total} steps | {stage} | loss {loss} | lr {lr} | {tps} tok/s | {duration_formatted}', hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const every = o.every ?? 10;
  try {
    const r = await runTraining({
      ...o,
      onStart: (step, total, backend) => {
        write(`train: ${o.recipe} on ${backend}, ${step > 0 ? `resumed at step ${step}` : o.init === undefined ? 'from scratch' : `from the weights of ${o.init}`}, ${total} steps\n`);
        bar?.start(total, step, { stage: '', loss: '-', lr: '-', tps: '-' });
      },
      onStep: (s) => {
        bar?.update(s.step, { stage: s.stageName, loss: s.loss.toFixed(4), lr: s.lr.toExponential(2), tps: Math.round(s.tokensPerSecond) });
        if (!bar && every > 0 && s.step % every === 0) write(`${fmt(s)}\n`);
      },
      onEval: (e) => {
        const byTask = Object.entries(e.retrievalByTask ?? {}).map(([t, l]) => ` ${t} ${l.toFixed(3)}`);
        const answers = e.retrievalLoss === undefined ? '' : `, retrieval answers ${e.retrievalLoss.toFixed(4)}${byTask.length > 0 ? ` (${byTask.join(',').trim()})` : ''}`;
        if (!bar) write(`step ${e.step} [${e.stageName}] held-out loss ${e.loss.toFixed(4)}${answers}\n`);
      },
    });
    bar?.stop();
    write(curveSummary(await readLog(join(o.out, 'train-log.jsonl'))));
    if (r.status === 'done') write(`train: done, ${r.total} steps; wrote ${r.files.map((f) => `${o.out}/${f}`).join(', ')}\n`);
    else write(`train: stopped (${r.status}) after step ${r.step} of ${r.total}; checkpoint in ${o.out}/checkpoint; continue with --resume\n`);
    return r;
  } finally {
    bar?.stop();
  }
}

export function registerTrain(program: Command): void {
  const int = (v: string) => Number.parseInt(v, 10);
  program
    .command('train')
    .description('train a model from a recipe (stages, data mix, optimizer); resumable')
    .requiredOption('--recipe <file>', 'recipe JSON (see recipes/ and docs/training.md)')
    .requiredOption('--out <dir>', 'output directory: checkpoint/, train-log.jsonl, then config.json, model.safetensors, tokenizer.json')
    .option('--backend <name>', 'cpu, webgpu or auto', 'auto')
    .option(MATRIX_UNITS_FLAG, MATRIX_UNITS_HELP)
    .option('--resume', 'continue from the checkpoint in --out (starts afresh if there is none)')
    .option('--init <dir>', 'start from the weights of a model directory written by hsa train (same model shapes and tokenizer) instead of fresh ones')
    .option('--steps <n>', 'stop with a checkpoint once n steps of the recipe are done', int)
    .option('--max-minutes <m>', 'stop with a checkpoint before a step would end past m minutes', Number.parseFloat)
    .option('--every <n>', 'without a progress bar: print a line every n steps', int, 10)
    .action(async (opts: { recipe: string; out: string; backend: BackendName; matrixUnits?: boolean; resume?: boolean; init?: string; steps?: number; maxMinutes?: number; every: number }) => {
      const ac = new AbortController();
      const onInt = () => {
        process.stderr.write('\ntrain: stopping after the current step (Ctrl-C again to kill)\n');
        ac.abort(new Error('interrupted'));
        process.once('SIGINT', () => process.exit(130));
      };
      process.once('SIGINT', onInt);
      try {
        const r = await runTrain({ ...opts, signal: ac.signal });
        if (r.status === 'aborted') process.exitCode = 130;
      } finally {
        process.off('SIGINT', onInt);
      }
    });
}
