import { describe, expect, it } from 'vitest';
import { matmul } from '../ops/matmul.js';
import { unary } from '../ops/unary.js';
import { Tensor } from '../tensor.js';
import { randF32 } from '../test-utils/index.js';
import { WebGpuBackend } from './webgpu-backend.js';

const skip = process.env.HSA_SKIP_WEBGPU === '1';

describe.skipIf(skip)('WebGPU backend runtime', () => {
  it('caches pipelines by kernel, not by size, and batches work into one submission', async () => {
    const be = await WebGpuBackend.create();
    const sizes = [10, 1000, 70_001, 3];
    const before = { compiles: be.pipelines.compiles, submits: be.submits };
    const outs = sizes.map((n) => unary('exp', Tensor.from(be, randF32(n, n), [n])));
    const compilesAfterFirst = be.pipelines.compiles;
    expect(compilesAfterFirst - before.compiles).toBe(1);
    const last = outs.map((t) => unary('silu', t)).at(-1)!;
    expect(be.pipelines.compiles - compilesAfterFirst).toBe(1);
    const submitsBeforeRead = be.submits;
    await last.data();
    expect(be.submits - submitsBeforeRead).toBe(1);
    be.destroy();
  });

  it('robustness: false turns off Dawn\'s bounds clamps: the same results, and the report says so', async () => {
    const [safe, fast] = [await WebGpuBackend.create(), await WebGpuBackend.create({ robustness: false })];
    expect(safe.report().robustness).toBeUndefined();
    expect(fast.report().robustness).toBe(false);
    const [a, b] = [randF32(131 * 129, 1), randF32(67 * 129, 2)];
    const run = async (be: WebGpuBackend) => matmul(Tensor.from(be, a, [131, 129]), Tensor.from(be, b, [67, 129]), { transB: true }).data();
    expect(Array.from(await run(fast))).toEqual(Array.from(await run(safe)));
    safe.destroy();
    fast.destroy();
  });

  it('refuses an allocation larger than the device can hold with E_OUT_OF_MEMORY', async () => {
    const be = await WebGpuBackend.create();
    const tooBig = be.device.limits.maxBufferSize + 4;
    expect(() => be.alloc(tooBig)).toThrow(expect.objectContaining({ code: 'E_OUT_OF_MEMORY' }));
    be.destroy();
  });

  it('reports a lost device as E_DEVICE_LOST on the next use', async () => {
    const be = await WebGpuBackend.create();
    const t = Tensor.from(be, [1, 2, 3], [3]);
    be.device.destroy();
    await be.device.lost;
    expect(() => unary('exp', t)).toThrow(expect.objectContaining({ code: 'E_DEVICE_LOST' }));
    await expect(t.data()).rejects.toMatchObject({ code: 'E_DEVICE_LOST' });
  });

  it('releases storage to the pool when the last view is disposed', async () => {
    const be = await WebGpuBackend.create();
    const t = Tensor.from(be, randF32(64, 1), [8, 8]);
    const v = t.transpose();
    const live = be.pool.liveBytes;
    t.dispose();
    expect(be.pool.liveBytes).toBe(live);
    v.dispose();
    expect(be.pool.liveBytes).toBeLessThan(live);
    expect(() => v.storage).toThrow(/after dispose/);
    be.destroy();
  });
});

describe.skipIf(skip)('WebGPU buffer release', () => {
  it('destroys a buffer the pool gives up only after the work that reads it is submitted', async () => {
    const be = await WebGpuBackend.create({ maxPooledBytes: 0 });
    const x = Tensor.from(be, randF32(1000, 3), [1000]);
    const y = unary('exp', x);
    x.dispose(); // the exp dispatch reading x is encoded, not yet submitted
    const got = await y.data();
    expect(got.every(Number.isFinite)).toBe(true);
    be.destroy();
  });
});
