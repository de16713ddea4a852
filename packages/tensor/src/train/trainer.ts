/**
 * Trainer: micro-batches with gradient accumulation, a NaN/Inf guard on the loss and the gradients,
 * global-norm clipping, AdamW with a learning-rate schedule, periodic checkpoints, progress through a
 * callback and cancellation through an AbortSignal. A step that meets a NaN throws NumericError before
 * the update, so parameters and the last checkpoint stay as they were.
 */
import { ArgumentError, HsaError, NumericError } from '@hsa/kernels';
import type { Parameter } from '../autograd/parameter.js';
import { backward, clearTape } from '../autograd/tape.js';
import type { AdamW } from '../optim/adamw.js';
import { clipFactor, globalGradNorm } from '../optim/clip.js';
import type { LrSchedule } from '../optim/schedule.js';
import type { Tensor } from '../tensor.js';
import { type CheckpointIO, loadCheckpoint, serializeCheckpoint } from './checkpoint.js';
import type { Rng } from './rng.js';

/** What one step reports. */
export interface StepReport {
  /** steps done, this one included */
  step: number;
  /** mean loss over the micro-batches */
  loss: number;
  lr: number;
  /** global gradient norm before clipping */
  gradNorm: number;
  tokensPerSecond: number;
  ms: number;
}

export interface TrainerOptions<B> {
  params: readonly Parameter[];
  optimizer: AdamW;
  schedule: LrSchedule;
  /** draws a micro-batch; all randomness must come from `rng` for resumes to be exact */
  batch: (rng: Rng) => B;
  /** the scalar loss of a micro-batch, built with ag.* ops */
  loss: (batch: B) => Tensor;
  rng: Rng;
  /** tokens per micro-batch, for tokens/s */
  tokensPerBatch: number;
  accumulation?: number;
  maxGradNorm?: number;
  onStep?: (r: StepReport) => void;
  signal?: AbortSignal;
  checkpoint?: { io: CheckpointIO; path: string; every: number; config?: Record<string, unknown> };
}

export class Trainer<B> {
  step = 0;
  private readonly accumulation: number;

  constructor(private readonly o: TrainerOptions<B>) {
    this.accumulation = o.accumulation ?? 1;
    if (!Number.isInteger(this.accumulation) || this.accumulation < 1) {
      throw new ArgumentError(`Trainer: accumulation must be a positive integer, got ${o.accumulation}`);
    }
  }

  private fail(e: unknown): never {
    clearTape();
    this.o.optimizer.zeroGrad();
    throw e;
  }

  /** Forward + backward of every micro-batch; returns the mean loss. */
  private async accumulate(): Promise<number> {
    let total = 0;
    for (let k = 0; k < this.accumulation; k++) {
      const loss = this.o.loss(this.o.batch(this.o.rng));
      const v = ((await loss.data()) as Float32Array)[0];
      if (!Number.isFinite(v)) {
        loss.dispose();
        this.fail(new NumericError(`loss is ${v} at step ${this.step + 1}, micro-batch ${k}; the step was not applied`));
      }
      backward(loss, 1 / this.accumulation);
      loss.dispose();
      total += v;
    }
    return total / this.accumulation;
  }

  /** One optimizer step. */
  async trainStep(): Promise<StepReport> {
    const t0 = performance.now();
    const loss = await this.accumulate();
    let gradNorm: number;
    try {
      gradNorm = await globalGradNorm(this.o.params);
    } catch (e) {
      this.fail(e);
    }
    const lr = this.o.schedule(this.o.optimizer.step);
    this.o.optimizer.update(lr, clipFactor(gradNorm, this.o.maxGradNorm));
    this.o.optimizer.zeroGrad();
    this.step++;
    await this.o.params[0]?.value.backend.sync();
    const ms = performance.now() - t0;
    const report = { step: this.step, loss, lr, gradNorm, ms, tokensPerSecond: (this.o.tokensPerBatch * this.accumulation * 1000) / ms };
    this.o.onStep?.(report);
    const c = this.o.checkpoint;
    if (c && c.every > 0 && this.step % c.every === 0) await this.save();
    return report;
  }

  /** Steps until `steps` are done in total; throws E_ABORTED when the signal fires between steps. */
  async run(steps: number): Promise<StepReport[]> {
    const out: StepReport[] = [];
    while (this.step < steps) {
      if (this.o.signal?.aborted) throw new HsaError('E_ABORTED', `training aborted after step ${this.step}`, { cause: this.o.signal.reason });
      out.push(await this.trainStep());
    }
    return out;
  }

  /** Writes the checkpoint (atomically, through the configured CheckpointIO). */
  async save(): Promise<void> {
    const c = this.o.checkpoint;
    if (!c) throw new ArgumentError('Trainer.save: no checkpoint option');
    const state = { step: this.step, rngState: this.o.rng.state, config: c.config ?? {} };
    await c.io.write(c.path, await serializeCheckpoint(this.o.params, this.o.optimizer, state));
  }

  /** Loads the checkpoint if the file exists; returns whether it did. */
  async resume(): Promise<boolean> {
    const c = this.o.checkpoint;
    if (!c || !(await c.io.exists(c.path))) return false;
    const state = loadCheckpoint(await c.io.read(c.path), this.o.params, this.o.optimizer);
    this.step = state.step;
    this.o.rng.state = state.rngState;
    return true;
  }
}
