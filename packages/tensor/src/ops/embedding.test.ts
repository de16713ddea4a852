import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { expectClose, freshSeed, randF32, rng, testBackends } from '../test-utils/index.js';
import { embedding } from './embedding.js';

/** Independent decoders of 16-bit storage (float64 math, no shared code with the kernels). */
function decode16(h: number, dtype: 'f16' | 'bf16'): number {
  if (dtype === 'bf16') return new DataView(new Uint32Array([h << 16]).buffer).getFloat32(0, true);
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const s = h & 0x8000 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Random finite 16-bit patterns (exponent field never all ones). */
function randHalfBits(n: number, seed: number, dtype: 'f16' | 'bf16'): Uint16Array {
  const r = rng(seed);
  const out = new Uint16Array(n);
  const expMask = dtype === 'bf16' ? 0x7f80 : 0x7c00;
  for (let i = 0; i < n; i++) {
    let h = (r() * 65536) >>> 0;
    if ((h & expMask) === expMask) h &= ~0x4000;
    out[i] = h;
  }
  return out;
}

describe.each(testBackends())('embedding on %s', (_name, make) => {
  it.each(['f32', 'f16', 'bf16'] as const)('gathers %s rows for odd vocab and d', async (dtype) => {
    const b = await make();
    for (const [vocab, d, n] of [
      [1, 1, 1],
      [7, 3, 11],
      [31, 13, 64],
      [1001, 97, 257],
    ]) {
      const seed = freshSeed();
      const r = rng(seed + 1);
      const ids = Array.from({ length: n }, () => Math.floor(r() * vocab));
      let want: number[];
      let table: Tensor;
      if (dtype === 'f32') {
        const x = randF32(vocab * d, seed);
        table = Tensor.from(b, x, [vocab, d]);
        want = ids.flatMap((id) => Array.from(x.subarray(id * d, id * d + d)));
      } else {
        const bits = randHalfBits(vocab * d, seed, dtype);
        table = Tensor.from(b, bits, [vocab, d], dtype);
        want = ids.flatMap((id) => Array.from(bits.subarray(id * d, id * d + d), (h) => decode16(h, dtype)));
      }
      const label = `${dtype} vocab=${vocab} d=${d} n=${n} seed=${seed}`;
      const out = embedding(table, ids);
      expect(out.shape).toEqual([n, d]);
      expectClose(await out.data(), want, 0, label);
      const idt = Tensor.from(b, ids, [n], 'i32');
      const out2 = embedding(table, idt.reshape([1, n]));
      expect(out2.shape).toEqual([1, n, d]);
      expectClose(await out2.data(), want, 0, `${label} device ids`);
      for (const t of [table, out, idt, out2]) t.dispose();
    }
  });

  it('rejects host ids out of range with a typed error', async () => {
    const b = await make();
    const table = Tensor.from(b, new Float32Array(15), [5, 3]);
    expect(() => embedding(table, [0, 5])).toThrow(/embedding: id 5 at position 1 is outside \[0, 5\) for table \[5, 3\]/);
    expect(() => embedding(table, [-1])).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
    expect(() => embedding(table.reshape([15]), [0])).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
    table.dispose();
  });

  it('writes zero rows for device ids out of range (never reads outside the table)', async () => {
    const b = await make();
    const table = Tensor.from(b, [1, 2, 3, 4, 5, 6], [3, 2]);
    const ids = Tensor.from(b, [2, -1, 3, 1_000_000, 0], [5], 'i32');
    const out = embedding(table, ids);
    expectClose(await out.data(), [5, 6, 0, 0, 0, 0, 0, 0, 1, 2], 0, 'bad ids');
    for (const t of [table, ids, out]) t.dispose();
  });
});
