/**
 * Bytes the model holds on its backend right now (and the peak), counted at the backend's alloc and
 * release: what the page shows as memory in use beside the plan. The backend's buffer pool may keep
 * freed blocks for reuse; those are not counted.
 */
import type { Backend, Storage } from '@hsa/tensor';

export interface MemoryMeter {
  live(): number;
  peak(): number;
}

export function meterMemory(backend: Backend): MemoryMeter {
  let live = 0;
  let peak = 0;
  const alloc = backend.alloc.bind(backend);
  const release = backend.release.bind(backend);
  backend.alloc = (bytes: number): Storage => {
    const s = alloc(bytes);
    live += s.bytes;
    peak = Math.max(peak, live);
    return s;
  };
  backend.release = (s: Storage): void => {
    live -= s.bytes;
    release(s);
  };
  return { live: () => live, peak: () => peak };
}
