/**
 * The CPU backend: storage is an ArrayBuffer and a kernel runs its plain-TS reference. Imports
 * nothing from WebGPU, so it works everywhere.
 */
import { BackendError, type DeviceCaps, type DType, type Kernel, PORTABLE_CAPS, type TypedArray } from '@hsa/kernels';
import type { AdapterReport, Backend, KernelArg, Storage } from '../backend.js';

/** f32 NaN with a recognizable payload; also an implausible i32/u32 value. */
export const POISON_BITS = 0x7fc0dead;

class CpuStorage implements Storage {
  constructor(
    readonly backend: CpuBackend,
    readonly buffer: ArrayBuffer,
    readonly bytes: number,
  ) {}
}

function view(buffer: ArrayBuffer, dtype: DType, byteOffset = 0, bytes = buffer.byteLength - byteOffset): TypedArray {
  switch (dtype) {
    case 'f32':
      return new Float32Array(buffer, byteOffset, bytes >> 2);
    case 'i32':
      return new Int32Array(buffer, byteOffset, bytes >> 2);
    case 'u32':
      return new Uint32Array(buffer, byteOffset, bytes >> 2);
    default:
      return new Uint16Array(buffer, byteOffset, bytes >> 1);
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly caps: DeviceCaps = PORTABLE_CAPS;
  readonly maxBindingBytes: number;
  readonly bindOffsetAlignment = 4;

  private readonly poison: boolean;

  /** `poison` fills every new allocation with NaN bits so unwritten outputs are caught (tests). */
  constructor(options: { maxBindingBytes?: number; poison?: boolean } = {}) {
    this.maxBindingBytes = options.maxBindingBytes ?? 2 ** 31 - 4;
    this.poison = options.poison ?? false;
  }

  alloc(bytes: number): Storage {
    const buffer = new ArrayBuffer(Math.ceil(bytes / 4) * 4);
    if (this.poison) new Uint32Array(buffer).fill(POISON_BITS);
    return new CpuStorage(this, buffer, bytes);
  }

  private own(s: Storage): CpuStorage {
    if (!(s instanceof CpuStorage) || s.backend !== this) throw new BackendError('storage belongs to another backend');
    return s;
  }

  write(storage: Storage, data: ArrayBufferView, byteOffset = 0): void {
    const dst = new Uint8Array(this.own(storage).buffer, byteOffset, data.byteLength);
    dst.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  async read(storage: Storage, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    return this.own(storage).buffer.slice(byteOffset, byteOffset + bytes);
  }

  copy(src: Storage, srcOffset: number, dst: Storage, dstOffset: number, bytes: number): void {
    const s = new Uint8Array(this.own(src).buffer, srcOffset, bytes);
    new Uint8Array(this.own(dst).buffer, dstOffset, bytes).set(s);
  }

  run<P>(kernel: Kernel<P>, params: P, args: readonly KernelArg[]): void {
    kernel.ref(
      args.map((a) => view(this.own(a.storage).buffer, a.dtype, a.byteOffset, a.bytes)),
      params,
    );
  }

  release(_storage: Storage): void {}

  async sync(): Promise<void> {}

  report(): AdapterReport {
    return {
      backend: 'cpu',
      description: 'pure TypeScript reference kernels',
      features: [],
      limits: { maxBindingBytes: this.maxBindingBytes },
    };
  }

  destroy(): void {}
}
