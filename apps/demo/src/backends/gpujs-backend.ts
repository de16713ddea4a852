/**
 * The gpu.js backend: the CPU backend (plain-TS reference kernels over ArrayBuffers) whose heavy
 * matrix products run through gpu.js on WebGL2. Browser-only: it lives in the demo and no Node code
 * path imports it. Products below `minWork` multiply-adds, and batched ones that do not fold into one
 * matrix, stay on the CPU, where they are faster than a texture round trip.
 */
import { type Kernel, type MatmulParams, type TypedArray, unpackHalf } from '@hsa/kernels';
import type { AdapterReport, KernelArg, Storage } from '@hsa/tensor';
import type { Texture } from 'gpu.js';
import { GpuJsMatmul } from './gpujs-matmul.js';
import { YieldingCpuBackend } from './yielding-cpu.js';

export interface GpuJsBackendOptions {
  /** products of fewer multiply-adds than this stay on the CPU (default 2^20) */
  minWork?: number;
}

export class GpuJsBackend extends YieldingCpuBackend {
  readonly gpujs: GpuJsMatmul;
  private readonly minWork: number;
  /** packed weights on the GPU as f32 textures, by storage and range (weights are written once) */
  private textures = new WeakMap<Storage, Map<string, Texture>>();
  /** shapes gpu.js could not run */
  private failed = new Set<string>();

  constructor(options: GpuJsBackendOptions = {}) {
    super();
    this.gpujs = new GpuJsMatmul();
    this.minWork = options.minWork ?? 2 ** 20;
  }

  /** Drops the textures made from a storage whose contents change or end. */
  private forget(storage: Storage): void {
    for (const t of this.textures.get(storage)?.values() ?? []) t.delete();
    this.textures.delete(storage);
  }

  override write(storage: Storage, data: ArrayBufferView, byteOffset = 0): void {
    this.forget(storage);
    super.write(storage, data, byteOffset);
  }

  override copy(src: Storage, srcOffset: number, dst: Storage, dstOffset: number, bytes: number): void {
    this.forget(dst);
    super.copy(src, srcOffset, dst, dstOffset, bytes);
  }

  override release(storage: Storage): void {
    this.forget(storage);
    super.release(storage);
  }

  override run<P>(kernel: Kernel<P>, params: P, args: readonly KernelArg[]): void {
    if (kernel.name === 'matmul' && this.matmul(params as MatmulParams, args)) return;
    for (const a of args) if (a.dtype !== 'f32' && a.dtype !== 'i32' && a.dtype !== 'u32') this.forget(a.storage);
    super.run(kernel, params, args);
  }

  /** B for gpu.js: f32 values as they are; packed 16-bit weights widened and uploaded once, then kept. */
  private operandB(arg: KernelArg, b: TypedArray, dtype: MatmulParams['bDtype']): Float32Array | Texture {
    if (dtype === 'f32') return b as Float32Array;
    let byOffset = this.textures.get(arg.storage);
    if (!byOffset) this.textures.set(arg.storage, (byOffset = new Map()));
    const key = `${arg.byteOffset ?? 0}:${b.length}`;
    let t = byOffset.get(key);
    if (!t) byOffset.set(key, (t = this.gpujs.upload(unpackHalf(b as Uint16Array, dtype))));
    return t;
  }

  /** Runs the product on gpu.js when it is heavy and folds into one matrix; false leaves it to the CPU. */
  private matmul(p: MatmulParams, args: readonly KernelArg[]): boolean {
    // batch entries sharing one B with contiguous A and C are one [batch·M, K] product
    const folds = p.batch === 1 || (p.strideB === 0 && !p.transA && p.strideA === p.M * p.K && p.strideC === p.M * (p.ldc ?? p.N));
    const M = p.M * p.batch;
    if (!folds || M * p.N * p.K < this.minWork) return false;
    const shape = { M, N: p.N, K: p.K, transA: p.transA, transB: p.transB };
    const key = `${M}x${p.N}x${p.K}`;
    if (this.failed.has(key)) return false;
    const [a, b, c] = args.map((x) => this.view(x));
    try {
      this.gpujs.run(shape, a as Float32Array, this.operandB(args[1], b, p.bDtype), c as Float32Array, p.ldc ?? p.N);
    } catch (e) {
      // e.g. an output wider than the largest texture: this shape stays on the CPU from now on
      console.warn(`gpu.js matmul ${key} failed, using the CPU for it: ${(e as Error).message}`);
      this.failed.add(key);
      return false;
    }
    return true;
  }

  override report(): AdapterReport {
    return { ...super.report(), description: `reference kernels on the CPU, matrix products through gpu.js (WebGL2; ${this.gpujs.calls} so far)` };
  }

  override destroy(): void {
    this.gpujs.destroy();
    super.destroy();
  }
}
