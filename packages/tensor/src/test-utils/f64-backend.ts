/**
 * A test-only CPU backend that stores f32 tensors as float64: every kernel reference runs over
 * Float64Array views, so an autograd graph evaluates in float64 through the same code path as on the
 * CPU backend. It is the oracle for finite-difference gradient checks (f32 rounding would swamp the
 * O(h²) differences). Every element slot is 8 bytes; byte offsets are doubled. Host I/O goes through
 * fromF64 / readF64 (read() would not know which dtype to decode).
 */
import { BackendError, type DeviceCaps, type DType, type Kernel, PORTABLE_CAPS, type TypedArray } from '@hsa/kernels';
import type { AdapterReport, Backend, KernelArg, Storage } from '../backend.js';
import { type Shape, Tensor } from '../tensor.js';

class F64Storage implements Storage {
  constructor(
    readonly backend: Float64Backend,
    readonly buffer: ArrayBuffer,
    readonly bytes: number,
  ) {}
}

function view(buffer: ArrayBuffer, dtype: DType, byteOffset = 0, bytes?: number): TypedArray {
  const n = bytes === undefined ? (buffer.byteLength - 2 * byteOffset) >> 3 : bytes >> 2;
  const off = 2 * byteOffset;
  if (dtype === 'f32') return new Float64Array(buffer, off, n);
  if (dtype === 'i32') return new Int32Array(buffer, off, n);
  if (dtype === 'u32') return new Uint32Array(buffer, off, n);
  throw new BackendError(`Float64Backend: ${dtype} tensors are not supported`);
}

const bitsF32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];

export class Float64Backend implements Backend {
  readonly name = 'cpu' as const;
  readonly caps: DeviceCaps = PORTABLE_CAPS;
  readonly maxBindingBytes = 2 ** 30;
  readonly bindOffsetAlignment = 4;

  alloc(bytes: number): Storage {
    const buffer = new ArrayBuffer(Math.ceil(bytes / 4) * 8);
    new Float64Array(buffer).fill(Number.NaN);
    return new F64Storage(this, buffer, bytes);
  }

  private own(s: Storage): F64Storage {
    if (!(s instanceof F64Storage)) throw new BackendError('storage belongs to another backend');
    return s;
  }

  write(storage: Storage, data: ArrayBufferView, byteOffset = 0): void {
    const buf = this.own(storage).buffer;
    if (data instanceof Float32Array || data instanceof Float64Array) new Float64Array(buf, 2 * byteOffset, data.length).set(data);
    else if (data instanceof Int32Array) new Int32Array(buf, 2 * byteOffset, data.length).set(data);
    else if (data instanceof Uint32Array) new Uint32Array(buf, 2 * byteOffset, data.length).set(data);
    else throw new BackendError('Float64Backend.write: f32, f64, i32 or u32 data only');
  }

  async read(): Promise<ArrayBuffer> {
    throw new BackendError('Float64Backend: read with readF64()');
  }

  copy(): void {
    throw new BackendError('Float64Backend: byte copies are not supported');
  }

  run<P>(kernel: Kernel<P>, params: P, args: readonly KernelArg[]): void {
    const arrays = args.map((a) => view(this.own(a.storage).buffer, a.dtype, a.byteOffset, a.bytes));
    // fill writes raw 32-bit patterns; here an f32 slot is a float64, so decode the pattern
    if (kernel.name === 'fill' && args[0].dtype === 'f32') {
      const p = params as unknown as { words: number; pattern: number };
      (arrays[0] as Float64Array).fill(bitsF32(p.pattern), 0, p.words);
      return;
    }
    kernel.ref(arrays, params);
  }

  release(): void {}
  async sync(): Promise<void> {}
  report(): AdapterReport {
    return { backend: 'cpu', description: 'float64 oracle (tests)', features: [], limits: {} };
  }
  destroy(): void {}
}

/** An f32-typed tensor on the float64 backend holding exactly `data`. */
export function fromF64(backend: Float64Backend, data: Float64Array, shape: Shape): Tensor {
  const t = Tensor.empty(backend, shape, 'f32');
  if (data.length > 0) backend.write(t.storage, data);
  return t;
}

/** The float64 values of a tensor on the float64 backend (contiguous copy first). */
export function readF64(t: Tensor): Float64Array {
  const c = t.contiguous();
  const out = Float64Array.from(new Float64Array((c.storage as F64Storage).buffer, 0, t.size));
  c.dispose();
  return out;
}
