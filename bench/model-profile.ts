/**
 * Where a decode step's time goes: the step runs once with a GPU timestamp before every dispatch
 * (each in its own compute pass, so the figures include a pass switch each, ~µs), and the intervals
 * are summed by kernel name; wall-clock time minus the GPU span is host work and synchronization.
 */
import type { Kernel } from '@hsa/kernels';
import { type DecodeState, decodeStep } from '@hsa/model';
import type { KernelArg, WebGpuBackend } from '@hsa/tensor';

const SLOTS = 4096;

export interface StepProfile {
  wallMs: number;
  gpuSpanMs: number;
  dispatches: number;
  /** kernel name → ms (summed over the step) */
  byKernel: Record<string, number>;
}

export async function profileStep(be: WebGpuBackend, state: DecodeState): Promise<StepProfile | null> {
  if (!be.device.features.has('timestamp-query')) return null;
  const qs = be.device.createQuerySet({ type: 'timestamp', count: SLOTS });
  const names: string[] = [];
  const run = be.run.bind(be);
  be.run = <P>(kernel: Kernel<P>, params: P, args: readonly KernelArg[]) => {
    if (names.length < SLOTS - 1) {
      be.timestamp(qs, names.length);
      names.push(kernel.name);
    }
    run(kernel, params, args);
  };
  const t0 = performance.now();
  let last: number;
  try {
    const l = await decodeStep(7, state);
    be.timestamp(qs, names.length);
    last = names.length;
    await be.sync();
    l.dispose();
  } finally {
    be.run = run;
  }
  const wallMs = performance.now() - t0;
  const stamps = await resolve(be, qs, last + 1);
  qs.destroy();
  const byKernel: Record<string, number> = {};
  for (let i = 0; i < last; i++) byKernel[names[i]] = (byKernel[names[i]] ?? 0) + Number(stamps[i + 1] - stamps[i]) / 1e6;
  return { wallMs, gpuSpanMs: Number(stamps[last] - stamps[0]) / 1e6, dispatches: last, byKernel };
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
