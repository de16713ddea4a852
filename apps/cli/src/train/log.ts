/**
 * DIR/train-log.jsonl: one JSON line per optimizer step (the loss curve) and one per held-out
 * evaluation (`kind` tells them apart). A resumed run first drops
 * the lines past its checkpoint (steps that a crash or Ctrl-C lost), so the file always reads as one
 * uninterrupted run.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@hsa/tensor/node';

/** One step of the log. */
export interface StepLog {
  kind: 'train';
  /** stage index and name */
  stage: number;
  stageName: string;
  /** global step, 1-based (steps done, this one included) */
  step: number;
  loss: number;
  lr: number;
  /** global gradient norm before clipping */
  gradNorm: number;
  tokensPerSecond: number;
  ms: number;
}

/** The held-out loss after step `step`. */
export interface EvalLog {
  kind: 'eval';
  stage: number;
  stageName: string;
  step: number;
  loss: number;
  /** the loss on the answers of held-out retrieval samples of the stage's tasks (when it has any) */
  retrievalLoss?: number;
  /** the same per task, when the stage has several (task name → loss on its samples among those) */
  retrievalByTask?: Record<string, number>;
}

export type LogLine = StepLog | EvalLog;

/** The log's lines (empty when the file does not exist). */
export async function readLog(path: string): Promise<LogLine[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as LogLine);
}

/** Keeps the lines of steps ≤ `step` (0: empties the file). */
export async function truncateLog(path: string, step: number): Promise<void> {
  const kept = (await readLog(path)).filter((r) => r.step <= step);
  await writeFileAtomic(path, new TextEncoder().encode(kept.map((r) => `${JSON.stringify(r)}\n`).join('')));
}

export async function appendLog(path: string, r: LogLine): Promise<void> {
  await appendFile(path, `${JSON.stringify(r)}\n`);
}
