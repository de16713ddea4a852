/**
 * The CPU backend for the demo: identical results, but every read and sync (prefill syncs after each
 * segment) first yields to the event loop (a macrotask), so the model's worker takes messages (Stop)
 * between the steps of a long computation (and a page running it on its main thread repaints). Also exposes typed views of its storages for backends built on it.
 */
import type { DType, TypedArray } from '@hsa/kernels';
import { CpuBackend, type KernelArg, type Storage } from '@hsa/tensor';

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class YieldingCpuBackend extends CpuBackend {
  override async read(storage: Storage, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    await nextTask();
    return super.read(storage, byteOffset, bytes);
  }

  override async sync(): Promise<void> {
    await nextTask();
  }

  /** A typed view of a kernel argument's storage range (CpuBackend keeps storage as an ArrayBuffer). */
  protected view(arg: KernelArg): TypedArray {
    const buffer = (arg.storage as unknown as { buffer: ArrayBuffer }).buffer;
    const off = arg.byteOffset ?? 0;
    const bytes = arg.bytes ?? buffer.byteLength - off;
    const ctor: Record<DType, new (b: ArrayBuffer, o: number, n: number) => TypedArray> = {
      f32: Float32Array,
      i32: Int32Array,
      u32: Uint32Array,
      f16: Uint16Array,
      bf16: Uint16Array,
    } as never;
    const T = ctor[arg.dtype];
    return new T(buffer, off, bytes / (T === Uint16Array ? 2 : 4));
  }
}
