/**
 * Tensor: a shape, strides and an element offset over backend storage, plus a dtype. Reshape,
 * transpose and slice return views sharing storage; `contiguous()` materializes one with a copy.
 * Storage is reference-counted across views and returned to the backend's pool on the last dispose.
 */
import {
  ArgumentError,
  BackendError,
  type DType,
  dtypeBytes,
  isPacked16,
  packHalf,
  ShapeError,
  stridedCopy,
  unpackHalf,
  wgslScalar,
} from '@hsa/kernels';
import type { Backend, KernelArg, Storage } from './backend.js';

class SharedStorage {
  refs = 1;
  constructor(readonly storage: Storage) {}
}

export type Shape = readonly number[];

export const numel = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export const fmtShape = (shape: Shape): string => `[${shape.join(', ')}]`;

/** Host data accepted by {@link Tensor.from}. */
export type HostData = Float32Array | Int32Array | Uint32Array | Uint16Array | readonly number[];

export class Tensor {
  private disposed = false;

  private constructor(
    readonly backend: Backend,
    private readonly shared: SharedStorage,
    readonly shape: Shape,
    readonly dtype: DType,
    readonly strides: Shape,
    readonly offset: number,
  ) {}

  /** An uninitialized contiguous tensor. */
  static empty(backend: Backend, shape: Shape, dtype: DType = 'f32'): Tensor {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape ${fmtShape(shape)}`);
    }
    const bytes = Math.max(4, Math.ceil((numel(shape) * dtypeBytes(dtype)) / 4) * 4);
    const storage = backend.alloc(bytes);
    return new Tensor(backend, new SharedStorage(storage), [...shape], dtype, contiguousStrides(shape), 0);
  }

  /**
   * Uploads host data. For f16/bf16, pass float values (packed here) or a Uint16Array of raw bits.
   */
  static from(backend: Backend, data: HostData, shape: Shape, dtype: DType = 'f32'): Tensor {
    if (data.length !== numel(shape)) {
      throw new ShapeError(`Tensor.from: ${data.length} values do not fill shape ${fmtShape(shape)}`);
    }
    const t = Tensor.empty(backend, shape, dtype);
    let host: ArrayBufferView;
    if (isPacked16(dtype)) host = data instanceof Uint16Array ? data : packHalf(data, dtype as 'f16' | 'bf16');
    else if (dtype === 'f32') host = data instanceof Float32Array ? data : Float32Array.from(data);
    else if (dtype === 'i32') host = data instanceof Int32Array ? data : Int32Array.from(data);
    else host = data instanceof Uint32Array ? data : Uint32Array.from(data);
    if (host.byteLength > 0) backend.write(t.storage, host);
    return t;
  }

  get storage(): Storage {
    if (this.disposed) throw new BackendError('tensor used after dispose()');
    return this.shared.storage;
  }

  get size(): number {
    return numel(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isContiguous(): boolean {
    const c = contiguousStrides(this.shape);
    return this.shape.every((d, i) => d === 1 || c[i] === this.strides[i]);
  }

  /**
   * Binding for a kernel: a contiguous tensor at offset 0 (the whole storage), or at an offset the
   * backend binds (that range). Ops call bindable() or contiguous() first.
   */
  arg(): KernelArg {
    if (!this.bindsInPlace) throw new BackendError('internal: kernel argument must be contiguous at a bindable offset');
    return this.offset === 0 ? { storage: this.storage, dtype: this.dtype } : this.argRange();
  }

  /**
   * Binding of exactly this tensor's elements (arg() binds a tensor at offset 0 with the rest of its
   * storage): for outputs that share a storage, such as two entries of one gradient.
   */
  argRange(): KernelArg {
    if (!this.bindsInPlace) throw new BackendError('internal: kernel argument must be contiguous at a bindable offset');
    const eb = dtypeBytes(this.dtype);
    return { storage: this.storage, dtype: this.dtype, byteOffset: this.offset * eb, bytes: Math.max(4, Math.ceil((this.size * eb) / 4) * 4) };
  }

  /** Offset 0, or an f32/i32/u32 offset at the backend's binding alignment (packed 16-bit: 0 only). */
  private offsetBindable(): boolean {
    if (this.offset === 0) return true;
    if (this.size === 0) return false; // no empty range bindings
    const align = this.backend.bindOffsetAlignment;
    return align !== undefined && !isPacked16(this.dtype) && (this.offset * dtypeBytes(this.dtype)) % align === 0;
  }

  /**
   * A tensor arg() accepts, without a copy where possible: this one (a new reference) when contiguous
   * at offset 0 or at a bindable offset (an entry of ag.unbind, a row block), else contiguous().
   */
  bindable(): Tensor {
    if (this.bindsInPlace) return this.view(this.shape, this.strides, this.offset);
    return this.contiguous();
  }

  /** True when arg() binds this tensor as it is (contiguous, at offset 0 or a bindable offset). */
  get bindsInPlace(): boolean {
    return this.isContiguous && this.offsetBindable();
  }

  private view(shape: Shape, strides: Shape, offset: number): Tensor {
    this.shared.refs++;
    return new Tensor(this.backend, this.shared, [...shape], this.dtype, [...strides], offset);
  }

  /** Same elements, new shape; one dim may be -1. A view when contiguous, else a copy. */
  reshape(shape: Shape): Tensor {
    const known = shape.filter((d) => d !== -1);
    const resolved = shape.map((d) => (d === -1 ? this.size / Math.max(1, numel(known)) : d));
    if (numel(resolved) !== this.size || resolved.some((d) => !Number.isInteger(d))) {
      throw new ShapeError(`reshape: cannot view ${fmtShape(this.shape)} as ${fmtShape(shape)}`);
    }
    if (this.isContiguous) return this.view(resolved, contiguousStrides(resolved), this.offset);
    const c = this.contiguous();
    const v = c.reshape(resolved);
    c.dispose();
    return v;
  }

  /** Permutes dims (a view). */
  permute(dims: readonly number[]): Tensor {
    if (dims.length !== this.rank || new Set(dims).size !== dims.length || dims.some((d) => d < 0 || d >= this.rank)) {
      throw new ArgumentError(`permute: ${JSON.stringify(dims)} is not a permutation of ${this.rank} dims`);
    }
    return this.view(
      dims.map((d) => this.shape[d]),
      dims.map((d) => this.strides[d]),
      this.offset,
    );
  }

  /** Swaps two dims (a view); negative dims count from the end. */
  transpose(a = -2, b = -1): Tensor {
    const dims = this.shape.map((_, i) => i);
    const ia = a < 0 ? a + this.rank : a;
    const ib = b < 0 ? b + this.rank : b;
    [dims[ia], dims[ib]] = [dims[ib], dims[ia]];
    return this.permute(dims);
  }

  /** Elements start ≤ i < end along `axis` (a view). */
  slice(axis: number, start: number, end: number): Tensor {
    const ax = axis < 0 ? axis + this.rank : axis;
    if (ax < 0 || ax >= this.rank || start < 0 || end > this.shape[ax] || start > end) {
      throw new ArgumentError(`slice: [${start}, ${end}) on axis ${axis} of ${fmtShape(this.shape)}`);
    }
    const shape = [...this.shape];
    shape[ax] = end - start;
    return this.view(shape, this.strides, this.offset + start * this.strides[ax]);
  }

  /**
   * The same rank with size-1 dims repeated to `shape` (a view with stride 0 along them, for reading:
   * ops and `contiguous()` materialize it in one copy).
   */
  expand(shape: Shape): Tensor {
    const ok = shape.length === this.rank && shape.every((d, i) => Number.isInteger(d) && d >= 0 && (d === this.shape[i] || this.shape[i] === 1));
    if (!ok) throw new ShapeError(`expand: cannot repeat ${fmtShape(this.shape)} to ${fmtShape(shape)} (only size-1 dims repeat)`);
    return this.view(
      shape,
      shape.map((d, i) => (d === this.shape[i] ? this.strides[i] : 0)),
      this.offset,
    );
  }

  /** A contiguous tensor with offset 0: this one (with a new reference) or a copy. */
  contiguous(): Tensor {
    if (this.isContiguous && this.offset === 0) return this.view(this.shape, this.strides, 0);
    if (isPacked16(this.dtype)) {
      throw new ArgumentError(`contiguous: strided views of packed ${this.dtype} tensors are not supported`);
    }
    const out = Tensor.empty(this.backend, this.shape, this.dtype);
    copyInto(this, out);
    return out;
  }

  /** Reads the elements back (in logical order); f16/bf16 come back as f32. */
  async data(): Promise<Float32Array | Int32Array | Uint32Array> {
    const c = this.contiguous();
    try {
      const bytes = this.size * dtypeBytes(this.dtype);
      const buf = await this.backend.read(c.storage, 0, Math.ceil(bytes / 4) * 4);
      if (this.dtype === 'f32') return new Float32Array(buf, 0, this.size);
      if (this.dtype === 'i32') return new Int32Array(buf, 0, this.size);
      if (this.dtype === 'u32') return new Uint32Array(buf, 0, this.size);
      return unpackHalf(new Uint16Array(buf), this.dtype as 'f16' | 'bf16', this.size);
    } finally {
      c.dispose();
    }
  }

  /** Releases this reference; storage returns to the pool when no view uses it. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (--this.shared.refs === 0) this.backend.release(this.shared.storage);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, ${this.backend.name})`;
  }
}

/** Copies the elements of `src` into the (possibly strided) view `dst` of the same shape. */
/**
 * Entry i of x along `axis` without that dim: x.slice, then the dim dropped (a view where the slice
 * is contiguous, else reshape's copy: not a destination to write into then).
 */
export function entry(x: Tensor, axis: number, i: number): Tensor {
  const s = x.slice(axis, i, i + 1);
  const v = s.reshape(x.shape.filter((_, d) => d !== axis));
  s.dispose();
  return v;
}

export function copyInto(src: Tensor, dst: Tensor): void {
  if (src.shape.length !== dst.shape.length || src.shape.some((d, i) => d !== dst.shape[i])) {
    throw new ShapeError(`copy: ${fmtShape(src.shape)} into ${fmtShape(dst.shape)}`);
  }
  if (src.dtype !== dst.dtype) throw new ShapeError(`copy: ${src.dtype} into ${dst.dtype}`);
  if (src.backend !== dst.backend) throw new BackendError('copy: tensors live on different backends');
  if (src.size === 0) return;
  src.backend.run(
    stridedCopy,
    {
      shape: src.shape,
      srcStrides: src.strides,
      srcOffset: src.offset,
      dstStrides: dst.strides,
      dstOffset: dst.offset,
      type: wgslScalar(src.dtype),
    },
    [
      { storage: src.storage, dtype: src.dtype },
      { storage: dst.storage, dtype: dst.dtype },
    ],
  );
}
