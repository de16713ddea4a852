// The pool's bookkeeping with a stand-in device (no GPU): reuse by size class, and what a full pool
// gives back to be destroyed.
import { describe, expect, it } from 'vitest';
import { BufferPool, sizeClass } from './buffer-pool.js';

function fakeDevice() {
  let created = 0;
  const device = { createBuffer: ({ size }: { size: number }) => ({ size, id: ++created }) } as unknown as GPUDevice;
  return { device, created: () => created };
}

describe('BufferPool', () => {
  it('reuses a released buffer of the same size class', () => {
    const { device, created } = fakeDevice();
    const pool = new BufferPool(device, 1 << 20);
    const a = pool.acquire(1000);
    expect(pool.release(a)).toEqual([]);
    expect(pool.acquire(900)).toBe(a);
    expect(created()).toBe(1);
    expect(sizeClass(1000)).toBe(1024);
  });

  it('when full, evicts larger pooled buffers (largest first) to keep a smaller one', () => {
    const { device, created } = fakeDevice();
    const pool = new BufferPool(device, 4096);
    const big = [pool.acquire(2048), pool.acquire(1024), pool.acquire(1024)];
    const small = pool.acquire(512);
    for (const b of big) expect(pool.release(b)).toEqual([]);
    expect(pool.pooledBytes).toBe(4096);
    // 512 more: the 2048 goes (largest first), the 1024s stay
    expect(pool.release(small)).toEqual([big[0]]);
    expect(pool.pooledBytes).toBe(2560);
    // the small temporary now comes back from the pool every time
    for (let i = 0; i < 5; i++) {
      const t = pool.acquire(500);
      expect(t).toBe(small);
      expect(pool.release(t)).toEqual([]);
    }
    expect(created()).toBe(4);
    expect(pool.created).toBe(4);
    // the lowest id of the class first
    expect(pool.acquire(1024)).toBe(big[1]);
  });

  it('hands out the same buffers for the same acquisitions, whatever order they came back in', () => {
    const { device, created } = fakeDevice();
    const pool = new BufferPool(device, 1 << 20);
    const step = (releaseOrder: (bs: GPUBuffer[]) => GPUBuffer[]) => {
      const bs = [pool.acquire(1000), pool.acquire(1000), pool.acquire(3000), pool.acquire(1000)];
      for (const b of releaseOrder(bs)) pool.release(b);
      return bs;
    };
    const first = step((bs) => bs);
    for (const order of [(bs: GPUBuffer[]) => [...bs].reverse(), (bs: GPUBuffer[]) => [bs[1], bs[3], bs[0], bs[2]], (bs: GPUBuffer[]) => bs]) {
      expect(step(order)).toEqual(first);
    }
    expect(created()).toBe(4);
  });

  it('gives back a buffer larger than every pooled one, or than the pool', () => {
    const { device } = fakeDevice();
    const pool = new BufferPool(device, 4096);
    const [a, b, c] = [pool.acquire(2048), pool.acquire(2048), pool.acquire(4096)];
    const huge = pool.acquire(8192);
    expect(pool.release(a)).toEqual([]);
    expect(pool.release(b)).toEqual([]);
    expect(pool.release(c)).toEqual([c]);
    expect(pool.release(huge)).toEqual([huge]);
    expect(pool.pooledBytes).toBe(4096);
    expect(pool.liveBytes).toBe(0);
  });
});

describe('BufferPool.reserve', () => {
  it('raises the bound, never lowers it', () => {
    const { device } = fakeDevice();
    const pool = new BufferPool(device, 4096);
    pool.reserve(1024);
    expect(pool.maxPooledBytes).toBe(4096);
    pool.reserve(8192);
    expect(pool.maxPooledBytes).toBe(8192);
    const big = pool.acquire(8192);
    expect(pool.release(big)).toEqual([]);
  });
});
