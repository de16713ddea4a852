/**
 * How much memory the model may use, and the longest context that fits. Browsers do not tell how
 * much GPU memory there is, so the budget is an estimate: half the device memory the browser reports
 * (Chrome reports at most 8 GiB), at least 1 GiB, or what `?budget=GiB` says.
 */
import { type HsaConfig, type MemoryPlan, parseConfig, planMemory } from '@hsa/model';
import type { ModelShape } from './engine/protocol.js';

export function budgetBytes(override?: number): number {
  if (override !== undefined && Number.isFinite(override) && override > 0) return override * 2 ** 30;
  const deviceGiB = (navigator as { deviceMemory?: number }).deviceMemory ?? 4;
  return Math.max(1, deviceGiB / 2) * 2 ** 30;
}

/** What the page plans with: the model's config and how its weights are held (the model is in the worker). */
export interface Planner {
  config: HsaConfig;
  plan(context: number, segment: number): MemoryPlan;
}

/** The plan HsaModel.memoryPlan gives, from the model's shape alone. */
export function planner(shape: ModelShape): Planner {
  const config = parseConfig(shape.configJson);
  return { config, plan: (context, segment) => planMemory(config, { context, segment, matrixBytes: shape.matrixBytes, maxBindingBytes: shape.maxBindingBytes }) };
}

export const plan = (m: Planner, context: number, segment: number): MemoryPlan => m.plan(context, segment);

/** The largest context (a multiple of the chunk size, at most 2^24 tokens) whose plan fits `budget`. */
export function maxContext(model: Planner, budget: number, segment: number): number {
  const S = model.config.chunkSize;
  let lo = 0;
  let hi = (1 << 24) / S;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (plan(model, mid * S, segment).total <= budget) lo = mid;
    else hi = mid - 1;
  }
  return lo * S;
}

export function formatBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.ceil(b / 1024)} KiB`;
}

export function formatTokens(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}K`;
  return n.toLocaleString('en-US');
}
