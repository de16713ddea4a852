/**
 * Helpers shared by the benchmarks: timing (warm-up, then the median of repetitions, each one
 * submission of `iters` steps), sampled float64 checks of large results, and the JSON record.
 */
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { WebGpuBackend } from '@hsa/tensor';

export interface Timing {
  /** GPU time per step: `iters` steps encoded first, then one submission timed to completion */
  medianMs: number;
  minMs: number;
  /** wall-clock per step including the host's encoding */
  wallMs: number;
  reps: number;
  iters: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Times `step` (which only encodes work): `iters` steps are encoded, then submitted at once and
 * timed to completion, so the figure is GPU time per step (plus one submit round trip / iters);
 * median over `reps` after a warm-up. Wall-clock per step including encoding is reported beside it.
 */
export async function timeGpu(be: WebGpuBackend, step: () => void, iters: number, reps = 10): Promise<Timing> {
  for (let i = 0; i < Math.max(2, Math.ceil(iters / 4)); i++) step();
  await be.sync();
  const gpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) step();
    const t1 = performance.now();
    await be.sync();
    const t2 = performance.now();
    gpu.push((t2 - t1) / iters);
    wall.push((t2 - t0) / iters);
  }
  return { medianMs: median(gpu), minMs: Math.min(...gpu), wallMs: median(wall), reps, iters };
}

export function gitCommit(): string {
  try {
    return execSync('git rev-parse HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return process.env.HSA_COMMIT ?? 'unknown';
  }
}

export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function writeJson(path: string | undefined, data: unknown): void {
  const text = JSON.stringify(data, null, 2);
  if (path) writeFileSync(path, text);
  console.log(text);
}

/** Deterministic pseudo-random f32 in [-1, 1). */
export function fillRandom(out: Float32Array, seed: number): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Largest |got − want| / tol over sampled entries; `want(i)` is the float64 value of entry i. */
export function sampledError(got: ArrayLike<number>, samples: number[], want: (i: number) => { v: number; mag: number }, k: number): number {
  let worst = 0;
  for (const i of samples) {
    const w = want(i);
    const tol = 2 * 2 ** -23 * k * w.mag + 1e-30;
    const r = Number.isNaN(got[i]) ? Number.POSITIVE_INFINITY : Math.abs(got[i] - w.v) / tol;
    worst = Math.max(worst, r);
  }
  return worst;
}
