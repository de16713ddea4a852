/** Creating backends by name, and the `auto` choice: WebGPU where it works, else the CPU. */
import { HsaError } from '@hsa/kernels';
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu/webgpu-backend.js';

export type BackendName = 'cpu' | 'webgpu' | 'auto';

export interface CreateBackendOptions extends WebGpuBackendOptions {
  /** Called with the reason when `auto` falls back to the CPU. */
  onFallback?: (reason: string) => void;
}

export async function createBackend(name: BackendName = 'auto', options: CreateBackendOptions = {}): Promise<Backend> {
  if (name === 'cpu') return new CpuBackend(options);
  if (name === 'webgpu') return WebGpuBackend.create(options);
  try {
    return await WebGpuBackend.create(options);
  } catch (e) {
    if (!(e instanceof HsaError)) throw e;
    options.onFallback?.(e.message);
    return new CpuBackend(options);
  }
}
