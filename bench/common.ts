/**
 * Helpers shared by the benchmarks: timing (warm-up, then the median of repetitions, each one
 * submission of `iters` steps), sampled float64 checks of large results, and the JSON record.
 */
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { WebGpuBackend } from '@hsa/tensor';

export interface Timing {
  /**
   * GPU time per step: GPU timestamps around `iters` steps encoded in one submission (when the
   * device has 'timestamp-query'; else the submission timed to completion on the host, as submitMs)
   */
  medianMs: number;
  /** the submission timed to completion on the host, per step (includes Dawn's command recording) */
  submitMs: number;
  /** how medianMs was measured */
  clock: 'gpu-timestamps' | 'host-submit';
  minMs: number;
  /** wall-clock per step including the host's encoding */
  wallMs: number;
  reps: number;
  iters: number;
}

/**
 * Dawn flags of the benchmarks: Vulkan, and GPU timestamps at full resolution (Dawn rounds them to
 * ~65 µs by default, as browsers do, which blurs a profile of sub-millisecond dispatches). Toggles
 * in HSA_DAWN_ENABLE (comma-separated) are enabled too, for probes such as disable_workgroup_init.
 */
export const BENCH_DAWN_FLAGS = [
  'backend=vulkan',
  'disable-dawn-features=timestamp_quantization',
  ...(process.env.HSA_DAWN_ENABLE ? [`enable-dawn-features=${process.env.HSA_DAWN_ENABLE}`] : []),
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Times `step` (which only encodes work): `iters` steps are encoded, then submitted at once and
 * timed to completion, so the figure is GPU time per step (plus one submit round trip / iters);
 * median over `reps` after a warm-up. Wall-clock per step including encoding is reported beside it.
 */
export async function timeGpu(be: WebGpuBackend, step: () => void, iters: number, reps = 10): Promise<Timing> {
  for (let i = 0; i < Math.max(2, Math.ceil(iters / 4)); i++) step();
  await be.sync();
  const stamps = be.device.features.has('timestamp-query') ? new GpuStamps(be) : null;
  const [gpu, host, wall]: number[][] = [[], [], []];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    stamps?.mark(0);
    for (let i = 0; i < iters; i++) step();
    stamps?.mark(1);
    const t1 = performance.now();
    await be.sync();
    const t2 = performance.now();
    host.push((t2 - t1) / iters);
    wall.push((t2 - t0) / iters);
    if (stamps) gpu.push((await stamps.elapsedMs()) / iters);
  }
  stamps?.destroy();
  const g = stamps ? gpu : host;
  const clock = stamps ? ('gpu-timestamps' as const) : ('host-submit' as const);
  return { medianMs: median(g), minMs: Math.min(...g), submitMs: median(host), clock, wallMs: median(wall), reps, iters };
}

/** Two GPU timestamps written into the backend's queued work, read back after it completes. */
class GpuStamps {
  private readonly qs: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly readback: GPUBuffer;
  constructor(private readonly be: WebGpuBackend) {
    const d = be.device;
    this.qs = d.createQuerySet({ type: 'timestamp', count: 2 });
    this.resolve = d.createBuffer({ size: 16, usage: 0x200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */ });
    this.readback = d.createBuffer({ size: 16, usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */ });
  }
  mark(i: number): void {
    this.be.timestamp(this.qs, i);
  }
  async elapsedMs(): Promise<number> {
    const enc = this.be.device.createCommandEncoder();
    enc.resolveQuerySet(this.qs, 0, 2, this.resolve, 0);
    enc.copyBufferToBuffer(this.resolve, 0, this.readback, 0, 16);
    this.be.device.queue.submit([enc.finish()]);
    await this.readback.mapAsync(1 /* GPUMapMode.READ */);
    const [a, b] = new BigUint64Array(this.readback.getMappedRange().slice(0));
    this.readback.unmap();
    return Number(b - a) / 1e6;
  }
  destroy(): void {
    for (const x of [this.qs, this.resolve, this.readback]) x.destroy();
  }
}

export function gitCommit(): string {
  // HSA_COMMIT first: the device's copy of the tree may carry a stale .git
  if (process.env.HSA_COMMIT) return process.env.HSA_COMMIT;
  try {
    return execSync('git rev-parse HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return process.env.HSA_COMMIT ?? 'unknown';
  }
}

/**
 * Backend options from the command line: `--pool-gib N` keeps up to N GiB of released buffers (default
 * 16 here, as bench/train-step: a MoE training step or a model's prefill segment frees GiBs of
 * temporaries that the library's default of 1 GiB would give back to the driver and allocate again).
 */
export function backendOptions(): { maxPooledBytes: number } {
  return { maxPooledBytes: Number(argValue('--pool-gib') ?? 16) * 2 ** 30 };
}

/** Largest |a − b| (equal infinities count 0, a NaN on one side ∞). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] === b[i] ? 0 : Math.abs(a[i] - b[i]);
    worst = Math.max(worst, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d);
  }
  return worst;
}

/** Largest |x|. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** maxDiff(got, want) relative to want's largest magnitude. */
export const relDiff = (got: ArrayLike<number>, want: ArrayLike<number>): number => maxDiff(got, want) / (maxAbs(want) + 1e-30);

export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function writeJson(path: string | undefined, data: unknown): void {
  const text = JSON.stringify(data, null, 2);
  if (path) writeFileSync(path, text);
  console.log(text);
}

/** A deterministic uniform [0, 1) sequence (32-bit LCG) from a seed. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Deterministic pseudo-random f32 in [-1, 1). */
export function fillRandom(out: Float32Array, seed: number): Float32Array {
  const rnd = lcg(seed);
  for (let i = 0; i < out.length; i++) out[i] = 2 * rnd() - 1;
  return out;
}

/** `count` indices in [0, n) from an LCG seeded with `seed` (the entries a sampled check evaluates). */
export function samples(count: number, n: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(s % n);
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
