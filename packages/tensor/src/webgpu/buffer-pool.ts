/**
 * Pool of GPU storage buffers by size class. Creating (and first binding) a buffer is expensive, so
 * released buffers are reused; reuse is safe without fences because every use goes through the one
 * queue in order.
 */
const USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

/** Size class: powers of two up to 1 MiB, then steps of 1/8 of the power of two (≤ 12.5% waste). */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 4) * 4);
  const p = 2 ** Math.ceil(Math.log2(b));
  if (p <= 1 << 20) return p;
  const step = p / 16;
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private nextId = 1;
  readonly ids = new WeakMap<GPUBuffer, number>();
  /** Bytes in buffers currently handed out / kept for reuse. */
  liveBytes = 0;
  pooledBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxPooledBytes = 1 << 30,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) this.pooledBytes -= size;
    else {
      buf = this.device.createBuffer({ size, usage: USAGE });
      this.ids.set(buf, this.nextId++);
    }
    this.liveBytes += size;
    return buf;
  }

  /**
   * Takes a buffer back. Returns false when the pool is full: the caller destroys it, but only once
   * the commands that use it are submitted (destroying a buffer that an unsubmitted command encoder
   * references makes the submit fail).
   */
  release(buf: GPUBuffer): boolean {
    const size = buf.size;
    this.liveBytes -= size;
    if (this.pooledBytes + size > this.maxPooledBytes) return false;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.pooledBytes += size;
    return true;
  }

  /** Destroys every pooled (not handed-out) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }

  id(buf: GPUBuffer): number {
    return this.ids.get(buf) ?? 0;
  }
}
