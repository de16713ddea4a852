/**
 * Which backend runs the model: WebGPU where the browser has it, else gpu.js (WebGL2) for the matrix
 * products, else the plain CPU backend, with the reason for each step down in words a reader
 * understands. A backend asked for by name (`?backend=`) either works or fails with that reason.
 */
import { type Backend, WebGpuBackend } from '@hsa/tensor';
import { YieldingCpuBackend } from './yielding-cpu.js';

export type DemoBackendKind = 'webgpu' | 'gpujs' | 'cpu';

export interface ChosenBackend {
  backend: Backend;
  kind: DemoBackendKind;
  /** what runs, e.g. "WebGPU (google swiftshader)" */
  label: string;
  /** why this one */
  why: string;
}

/** No backend could start: the message says what was tried and what to do. */
export class NoBackendError extends Error {
  override name = 'NoBackendError';
}

export interface ChooseOptions {
  /** `auto` (default) or one backend by name */
  want?: DemoBackendKind | 'auto';
  /** gpu.js: products of fewer multiply-adds stay on the CPU */
  gpujsMinWork?: number;
}

const why = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function tryWebGpu(): Promise<ChosenBackend> {
  const backend = await WebGpuBackend.create();
  const r = backend.report();
  const label = `WebGPU (${[r.vendor, r.architecture].filter(Boolean).join(' ') || r.description})`;
  const soft = r.software || /swiftshader/i.test(`${r.architecture} ${r.description}`);
  return { backend, kind: 'webgpu', label, why: soft ? 'WebGPU works here, on a software GPU (SwiftShader): correct but slow' : 'WebGPU works here' };
}

// loaded only when needed: browsers with WebGPU never download gpu.js
async function tryGpuJs(minWork?: number): Promise<ChosenBackend> {
  const [{ GpuJsBackend }, { webglRenderer }] = await Promise.all([import('./gpujs-backend.js'), import('./gpujs-matmul.js')]);
  const backend = new GpuJsBackend({ minWork });
  const renderer = webglRenderer();
  const soft = /swiftshader|llvmpipe|software/i.test(renderer);
  const note = soft ? ` (WebGL2 here is drawn by the CPU, ${renderer}: correct, but the CPU backend, backend=cpu, is faster)` : '';
  return { backend, kind: 'gpujs', label: 'gpu.js (WebGL2) + CPU', why: note };
}

const cpu = (): ChosenBackend => ({ backend: new YieldingCpuBackend(), kind: 'cpu', label: 'CPU (plain TypeScript)', why: '' });

const NAMES: Record<DemoBackendKind, string> = { webgpu: 'WebGPU', gpujs: 'gpu.js (WebGL2)', cpu: 'the CPU backend' };

export async function chooseBackend(o: ChooseOptions = {}): Promise<ChosenBackend> {
  const want = o.want ?? 'auto';
  if (want !== 'auto') {
    try {
      const c = want === 'webgpu' ? await tryWebGpu() : want === 'gpujs' ? await tryGpuJs(o.gpujsMinWork) : cpu();
      return { ...c, why: `asked for in the address (backend=${want})${c.why ? `; ${c.why}` : ''}` };
    } catch (e) {
      throw new NoBackendError(
        `${NAMES[want]} could not start in this browser: ${why(e)}. Remove "backend=${want}" from the address to let the page pick what works, ` +
          'or use a browser with WebGPU (a recent Chrome, Edge or Safari).',
      );
    }
  }
  let noWebGpu: string;
  try {
    return await tryWebGpu();
  } catch (e) {
    noWebGpu = why(e);
  }
  try {
    const g = await tryGpuJs(o.gpujsMinWork);
    return { ...g, why: `WebGPU is not available (${noWebGpu}), so gpu.js runs the matrix products on WebGL2${g.why}` };
  } catch (e) {
    return { ...cpu(), why: `WebGPU is not available (${noWebGpu}) and neither is WebGL2 for gpu.js (${why(e)}): the CPU runs everything, slowly` };
  }
}
