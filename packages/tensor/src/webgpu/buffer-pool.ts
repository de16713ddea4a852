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
  /** Buffers created so far (each a device allocation, zero-filled on the GPU at first use). */
  get created(): number {
    return this.nextId - 1;
  }
  /** Bytes in buffers currently handed out / kept for reuse. */
  liveBytes = 0;
  pooledBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private maxPooled = 1 << 30,
  ) {}

  /** Bytes of released buffers kept for reuse at most. */
  get maxPooledBytes(): number {
    return this.maxPooled;
  }

  /** Raises the bound to `bytes` (never lowers it). */
  reserve(bytes: number): void {
    this.maxPooled = Math.max(this.maxPooled, bytes);
  }

  /**
   * A buffer of at least `bytes`: the pooled one of its size class with the lowest id, else a new
   * one. Taking the lowest id (not the last released) makes the choice depend only on which buffers
   * are free, not on the order they came back: a step that allocates and releases the same tensors
   * as the step before gets the same buffers, so its bind groups are found in the backend's cache.
   */
  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buf: GPUBuffer | undefined;
    if (list) {
      let best = 0;
      let bestId = this.id(list[0]);
      for (let i = 1; i < list.length; i++) {
        const id = this.id(list[i]);
        if (id < bestId) [best, bestId] = [i, id];
      }
      buf = list[best];
      list[best] = list[list.length - 1];
      list.pop();
      if (list.length === 0) this.free.delete(size);
    }
    if (buf) this.pooledBytes -= size;
    else {
      buf = this.device.createBuffer({ size, usage: USAGE });
      this.ids.set(buf, this.nextId++);
    }
    this.liveBytes += size;
    return buf;
  }

  /**
   * Takes a buffer back and returns the buffers the caller must destroy, once the commands that use
   * them are submitted (destroying a buffer that an unsubmitted command encoder references makes the
   * submit fail). When the pool is full, larger pooled buffers make room for a smaller one (largest
   * first): a step's small temporaries come back every step, so a pool filled with large buffers
   * released once must not turn each of them into a new allocation (and its lazy zero-fill on the
   * GPU); a buffer larger than every one pooled, or than the whole pool, is given back to be destroyed.
   */
  release(buf: GPUBuffer): GPUBuffer[] {
    const size = buf.size;
    this.liveBytes -= size;
    const doomed: GPUBuffer[] = [];
    if (size > this.maxPooled) return [buf];
    while (this.pooledBytes + size > this.maxPooled) {
      const largest = Math.max(...this.free.keys());
      if (largest <= size) {
        doomed.push(buf);
        return doomed;
      }
      const list = this.free.get(largest) as GPUBuffer[];
      doomed.push(list.pop() as GPUBuffer);
      if (list.length === 0) this.free.delete(largest);
      this.pooledBytes -= largest;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.pooledBytes += size;
    return doomed;
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
