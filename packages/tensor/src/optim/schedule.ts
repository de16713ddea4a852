/** Learning-rate schedules: functions of the (0-based) update index. */
import { ArgumentError } from '@hsa/kernels';

export type LrSchedule = (step: number) => number;

/** Linear warm-up from lr/warmup to lr over `warmup` steps, then constant. */
export function warmupConstant(lr: number, warmup: number): LrSchedule {
  if (!(warmup >= 0)) throw new ArgumentError(`warmupConstant: warmup must be ≥ 0, got ${warmup}`);
  return (step) => (step < warmup ? (lr * (step + 1)) / warmup : lr);
}

/** Linear warm-up, then cosine decay from lr to minLr at `total` steps (minLr after). */
export function warmupCosine(lr: number, warmup: number, total: number, minLr = 0): LrSchedule {
  if (!(total > warmup)) throw new ArgumentError(`warmupCosine: total (${total}) must exceed warmup (${warmup})`);
  return (step) => {
    if (step < warmup) return (lr * (step + 1)) / warmup;
    const t = Math.min(1, (step - warmup) / (total - warmup));
    return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * t));
  };
}
