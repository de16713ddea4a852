/**
 * Where GPU work's time goes: the work runs once with a GPU timestamp before every dispatch (each in
 * its own compute pass, so the figures include a pass switch each, ~µs), and the intervals are
 * summed by kernel name; wall-clock time minus the GPU span is host work and synchronization.
 */
import type { Kernel } from '@hsa/kernels';
import type { KernelArg, WebGpuBackend } from '@hsa/tensor';

/** WebGPU's maximum query count; dispatches past it are counted in the last interval */
const SLOTS = 4096;

export interface StepProfile {
  wallMs: number;
  gpuSpanMs: number;
  dispatches: number;
  /** kernel name → ms (summed over the step) */
  byKernel: Record<string, number>;
  /** kernel name → dispatches */
  counts: Record<string, number>;
  /** GPU buffers created during the work (pool misses), and the pool's bytes after it */
  buffersCreated: number;
  pool: { liveBytes: number; pooledBytes: number; maxPooledBytes: number };
}

/** A dispatch's row in the profile: the kernel's name by default; `label` may split it by parameters. */
export type DispatchLabel = (kernel: Kernel<unknown>, params: unknown) => string;

/** The matmuls split by shape (batch × M × N × K, which operand is transposed), other kernels by name. */
export const byMatmulShape: DispatchLabel = (kernel, params) => {
  if (kernel.name !== 'matmul') return kernel.name;
  const p = params as { batch: number; M: number; N: number; K: number; transA: boolean; transB: boolean };
  return `matmul ${p.batch > 1 ? `${p.batch}×` : ''}${p.M}×${p.N}×${p.K}${p.transA ? ' Aᵀ' : ''}${p.transB ? ' Bᵀ' : ''}`;
};

/**
 * byMatmulShape, and the small kernels that run many times a step by their sizes: reduce by
 * outer × axis × inner, binary by op, element count and broadcast, AdamW by parameter size.
 */
export const byShape: DispatchLabel = (kernel, params) => {
  const q = params as Record<string, unknown>;
  switch (kernel.name) {
    case 'reduce':
      return `reduce ${q.op} ${q.outer}×${q.r}×${q.inner}${q.chunk ? ` chunk ${q.chunk}` : ''}`;
    case 'binary': {
      const shape = q.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      const bcast = [q.aStrides, q.bStrides].some((s) => (s as number[]).some((x, i) => x === 0 && shape[i] !== 1));
      return `binary ${q.op} ${n}${bcast ? ' broadcast' : ''}`;
    }
    case 'adamw':
      return `adamw ${(q.n as number) >= 2 ** 20 ? `${Math.round((q.n as number) / 2 ** 20)}M` : `${Math.round((q.n as number) / 1024)}K`}`;
    default:
      return byMatmulShape(kernel, params);
  }
};

/** Profiles `work` (which must leave its results on the GPU or dispose them); null without timestamps. */
export async function profileRun(be: WebGpuBackend, work: () => Promise<void>, label?: DispatchLabel): Promise<StepProfile | null> {
  if (!be.device.features.has('timestamp-query')) return null;
  const qs = be.device.createQuerySet({ type: 'timestamp', count: SLOTS });
  const names: string[] = [];
  let total = 0;
  const run = be.run.bind(be);
  be.run = <P>(kernel: Kernel<P>, params: P, args: readonly KernelArg[]) => {
    total++;
    if (names.length < SLOTS - 1) {
      be.timestamp(qs, names.length);
      names.push(label ? label(kernel as Kernel<unknown>, params) : kernel.name);
    }
    run(kernel, params, args);
  };
  const created0 = be.pool.created;
  const t0 = performance.now();
  let last: number;
  try {
    await work();
    be.timestamp(qs, names.length);
    last = names.length;
    await be.sync();
  } finally {
    be.run = run;
  }
  const wallMs = performance.now() - t0;
  const stamps = await resolve(be, qs, last + 1);
  qs.destroy();
  const byKernel: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const n of names) counts[n] = (counts[n] ?? 0) + 1;
  for (let i = 0; i < last; i++) {
    const name = i === last - 1 && total > last ? `(${names[i]} and the ${total - last} untimed dispatches after it)` : names[i];
    byKernel[name] = (byKernel[name] ?? 0) + Number(stamps[i + 1] - stamps[i]) / 1e6;
  }
  const pool = { liveBytes: be.pool.liveBytes, pooledBytes: be.pool.pooledBytes, maxPooledBytes: be.pool.maxPooledBytes };
  return { wallMs, gpuSpanMs: Number(stamps[last] - stamps[0]) / 1e6, dispatches: total, byKernel, counts, buffersCreated: be.pool.created - created0, pool };
}

async function resolve(be: WebGpuBackend, qs: GPUQuerySet, n: number): Promise<BigUint64Array> {
  const d = be.device;
  const bytes = n * 8;
  const res = d.createBuffer({ size: bytes, usage: 0x200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */ });
  const rb = d.createBuffer({ size: bytes, usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */ });
  const enc = d.createCommandEncoder();
  enc.resolveQuerySet(qs, 0, n, res, 0);
  enc.copyBufferToBuffer(res, 0, rb, 0, bytes);
  d.queue.submit([enc.finish()]);
  await rb.mapAsync(1 /* READ */);
  const out = new BigUint64Array(rb.getMappedRange().slice(0));
  rb.unmap();
  for (const b of [res, rb]) b.destroy();
  return out;
}
