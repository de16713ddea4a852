/**
 * The narrow backend interface (tinygrad-style): allocate, copy in, copy out, run a kernel. Every op
 * and everything above it is written against this; a backend never sees a Tensor.
 */
import type { DeviceCaps, DType, Kernel } from '@hsa/kernels';

/** Backend-owned memory. `bytes` is the usable size (a pool may hand out a larger block). */
export interface Storage {
  readonly bytes: number;
  readonly backend: Backend;
}

/**
 * A storage bound to a kernel, with the dtype its contents have. `byteOffset`/`bytes` bind a range
 * (offset a multiple of 256): that is how tensors larger than one binding are processed in pieces.
 */
export interface KernelArg {
  readonly storage: Storage;
  readonly dtype: DType;
  readonly byteOffset?: number;
  readonly bytes?: number;
}

export interface AdapterReport {
  readonly backend: 'cpu' | 'webgpu';
  readonly description: string;
  readonly vendor?: string;
  readonly architecture?: string;
  readonly software?: boolean;
  /** Why this adapter was chosen, where that was not the default (e.g. the SwiftShader fallback). */
  readonly note?: string;
  readonly features: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
  /** subgroup-matrix configurations enabled on the device (`f16→f32 16×16×16`), where any are */
  readonly subgroupMatrix?: readonly string[];
  /** false where Dawn's robustness was turned off (WebGpuBackendOptions.robustness, Node only) */
  readonly robustness?: boolean;
}

export interface Backend {
  readonly name: 'cpu' | 'webgpu';
  readonly caps: DeviceCaps;
  /** Largest single storage the backend binds; larger tensors are split by the ops that allow it. */
  readonly maxBindingBytes: number;
  /**
   * Byte alignment of a binding's offset into a storage (WebGPU's minStorageBufferOffsetAlignment):
   * a contiguous view at such an offset is bound in place (Tensor.bindable). Absent: offset 0 only.
   */
  readonly bindOffsetAlignment?: number;
  /**
   * Keep at least `bytes` of released storage for reuse (a hint from a caller that knows its working
   * set, such as a model's prefill segment; only a pooling backend acts on it).
   */
  reservePool?(bytes: number): void;
  alloc(bytes: number): Storage;
  /** Copies host data into storage at byteOffset (4-byte aligned, length a multiple of 4 after padding). */
  write(storage: Storage, data: ArrayBufferView, byteOffset?: number): void;
  /** Copies `bytes` bytes from storage to the host, after all queued work. */
  read(storage: Storage, byteOffset: number, bytes: number): Promise<ArrayBuffer>;
  /** Device-side copy of `bytes` bytes between storages (offsets 4-byte aligned). */
  copy(src: Storage, srcOffset: number, dst: Storage, dstOffset: number, bytes: number): void;
  /** Queues a kernel over args (inputs then outputs, in the kernel's binding order). */
  run<P>(kernel: Kernel<P>, params: P, args: readonly KernelArg[]): void;
  release(storage: Storage): void;
  /** Resolves once all queued work is done; rejects with a typed error if the device failed. */
  sync(): Promise<void>;
  report(): AdapterReport;
  destroy(): void;
}
