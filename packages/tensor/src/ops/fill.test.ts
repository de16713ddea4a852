import { describe, expect, it } from 'vitest';
import { EPS32, expectClose, testBackends } from '../test-utils/index.js';
import { arange, fill } from './fill.js';

describe.each(testBackends())('fill and arange on %s', (_name, make) => {
  it('fill writes every element, for each dtype and odd sizes', async () => {
    const b = await make();
    for (const shape of [[1], [3, 5], [2, 3, 7]]) {
      const n = shape.reduce((a, c) => a * c, 1);
      const f = fill(b, shape, -1.5);
      expectClose(await f.data(), new Array(n).fill(-1.5), 0, `f32 ${shape}`);
      const i = fill(b, shape, -7, 'i32');
      expect(Array.from(await i.data())).toEqual(new Array(n).fill(-7));
      const h = fill(b, shape, 0.1, 'bf16');
      expectClose(await h.data(), new Array(n).fill(0.10009765625), 0, `bf16 ${shape}`);
      const g = fill(b, shape, 1 / 3, 'f16');
      expectClose(await g.data(), new Array(n).fill(0.333251953125), 0, `f16 ${shape}`);
      for (const t of [f, i, h, g]) t.dispose();
    }
    expect(() => fill(b, [2], 1.5, 'i32')).toThrow(/fill: 1.5 is not a i32 value \(shape \[2\]\)/);
  });

  it('arange matches start + i·step (f32 to one rounding of each op, i32 exactly)', async () => {
    const b = await make();
    for (const [start, end, step] of [
      [0, 1, 1],
      [0, 70_001, 1],
      [-3.5, 10, 0.37],
      [5, -5, -0.7],
    ]) {
      const t = arange(b, start, end, step);
      const n = Math.ceil((end - start) / step);
      const want = Array.from({ length: n }, (_, i) => start + i * step);
      // product and sum each rounded once in f32 (or fused): ≤ 2ε of the larger magnitude
      expectClose(await t.data(), want, (i) => 2 * EPS32 * (Math.abs(start) + Math.abs(i * step)) + 1e-30, `${start}:${end}:${step}`);
      t.dispose();
    }
    const i = arange(b, -7, 300, 3, 'i32');
    expect(Array.from(await i.data())).toEqual(Array.from({ length: 103 }, (_, k) => -7 + 3 * k));
    const e = arange(b, 3, 3);
    expect(e.shape).toEqual([0]);
    for (const t of [i, e]) t.dispose();
    expect(() => arange(b, 0, 1, 0)).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
    expect(() => arange(b, 0, 1.5, 1, 'i32')).toThrow(/i32 arange needs 32-bit integer/);
  });
});
