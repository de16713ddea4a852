import { stridedCopy } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { contiguousStrides, copyInto, Tensor } from '../tensor.js';
import { freshSeed, randF32, testBackends } from '../test-utils/index.js';
import { add } from './binary.js';
import { concat, sliceCopy, transposeCopy } from './copy.js';

/** Independent oracle: element at logical multi-index via explicit strides over the host array. */
function gather(x: Float32Array, shape: number[], perm: number[], starts: number[], sizes: number[]): number[] {
  const strides = contiguousStrides(shape);
  const outShape = perm.map((p) => sizes[p]);
  const out: number[] = [];
  const idx = new Array(outShape.length).fill(0);
  const n = outShape.reduce((a, b) => a * b, 1);
  for (let e = 0; e < n; e++) {
    let off = 0;
    perm.forEach((p, k) => {
      off += (idx[k] + starts[p]) * strides[p];
    });
    out.push(x[off]);
    for (let k = outShape.length - 1; k >= 0 && ++idx[k] >= outShape[k]; k--) idx[k] = 0;
  }
  return out;
}

describe.each(testBackends())('copy ops on %s', (_name, make) => {
  it('expand repeats size-1 dims (materialized by contiguous and by concat)', async () => {
    const b = await make();
    const seed = freshSeed();
    const row = randF32(5, seed);
    const e = Tensor.from(b, row, [1, 1, 5]).expand([3, 1, 5]);
    expect(e.isContiguous).toBe(false);
    expect(Array.from(await e.data())).toEqual([...row, ...row, ...row]);
    const x = randF32(3 * 2 * 5, seed + 1);
    const joined = await concat([Tensor.from(b, x, [3, 2, 5]), e], 1).data();
    const want: number[] = [];
    for (let i = 0; i < 3; i++) want.push(...x.subarray(i * 10, (i + 1) * 10), ...row);
    expect(Array.from(joined)).toEqual(want);
    const col = Tensor.from(b, Float32Array.from([1, 2]), [2, 1]).expand([2, 3]);
    expect(Array.from(await col.data())).toEqual([1, 1, 1, 2, 2, 2]);
    expect(() => Tensor.from(b, row, [1, 5]).expand([2, 4])).toThrow(/expand: cannot repeat \[1, 5\] to \[2, 4\]/);
    expect(() => Tensor.from(b, row, [5]).expand([1, 5])).toThrow(/only size-1 dims repeat/);
  });

  it('bindable(): a contiguous view at an aligned offset is bound in place, any other view is copied', async () => {
    const b = await make();
    const x = randF32(5 * 64, freshSeed());
    const t = Tensor.from(b, x, [5, 64]);
    const want = (from: number, n: number) => Array.from(x.subarray(from, from + n), (v) => Math.fround(v + v));
    // rows 2..4: offset 128 floats = 512 bytes, aligned for WebGPU (256) and the CPU (4)
    const rows = t.slice(0, 2, 4);
    const bound = rows.bindable();
    expect(bound.storage).toBe(t.storage);
    expect(bound.arg()).toMatchObject({ byteOffset: 512, bytes: 512 });
    expect(Array.from(await add(rows, rows).data())).toEqual(want(128, 128));
    // offset 3 floats: 12 bytes, bound in place on the CPU only; the values agree either way
    const flat = Tensor.from(b, x, [64 * 5]);
    const odd = flat.slice(0, 3, 40);
    const c = odd.bindable();
    expect(c.storage === flat.storage).toBe(b.bindOffsetAlignment === 4);
    expect(Array.from(await add(odd, odd).data())).toEqual(want(3, 37));
    // strided (a column) and empty views are copied
    const col = t.slice(1, 5, 6);
    expect(col.bindable().offset).toBe(0);
    expect(Array.from(await add(col, col).data())).toEqual([0, 1, 2, 3, 4].map((r) => Math.fround(x[r * 64 + 5] * 2)));
    expect(t.slice(0, 3, 3).bindable().offset).toBe(0);
    for (const v of [rows, bound, odd, c, col, t, flat]) v.dispose();
  });

  it('contiguous() of permuted and sliced views, rank 1..6', async () => {
    const b = await make();
    const shapes = [[7], [3, 5], [2, 3, 5], [3, 1, 4, 5], [2, 3, 1, 2, 5], [2, 3, 2, 1, 3, 5]];
    for (const shape of shapes) {
      const seed = freshSeed();
      const n = shape.reduce((a, c) => a * c, 1);
      const x = randF32(n, seed);
      const t = Tensor.from(b, x, shape);
      const perm = shape.map((_, i) => shape.length - 1 - i);
      const starts = shape.map((d) => (d > 2 ? 1 : 0));
      const sizes = shape.map((d, i) => d - starts[i] - (d > 3 ? 1 : 0));
      let v = t.permute(perm);
      shape.forEach((_, ax) => {
        const k = perm.indexOf(ax);
        const s = v.slice(k, starts[ax], starts[ax] + sizes[ax]);
        v.dispose();
        v = s;
      });
      const c = v.contiguous();
      expect(c.isContiguous && c.offset === 0).toBe(true);
      expect(Array.from(await c.data()), `shape=${shape} seed=${seed}`).toEqual(gather(x, shape, perm, starts, sizes));
      for (const u of [t, v, c]) u.dispose();
    }
  });

  it('transposeCopy and sliceCopy; a copy of more than 65535 workgroups', async () => {
    const b = await make();
    const seed = freshSeed();
    const [rows, cols] = [4097, 4099]; // 16.8M elements: 65,600+ workgroups of 256
    const x = randF32(rows * cols, seed);
    const t = Tensor.from(b, x, [rows, cols]);
    const tt = transposeCopy(t);
    expect(tt.shape).toEqual([cols, rows]);
    const got = await tt.data();
    for (let k = 0; k < 2000; k++) {
      const j = (k * 7919 + seed) % cols;
      const i = (k * 104729) % rows;
      if (got[j * rows + i] !== x[i * cols + j]) expect.fail(`transpose (${i}, ${j}) seed=${seed}`);
    }
    expect(got[got.length - 1]).toBe(x[x.length - 1]);
    const s = sliceCopy(t, 1, 3, 10);
    expect(Array.from(await s.data()).slice(0, 14)).toEqual([...x.slice(3, 10), ...x.slice(cols + 3, cols + 10)]);
    for (const u of [t, tt, s]) u.dispose();
  });

  it('copyInto between contiguous ranges (flat copies: vec4 and scalar) writes exactly its range', async () => {
    const b = await make();
    const seed = freshSeed();
    const x = randF32(5 * 64, seed);
    const src = Tensor.from(b, x, [5, 64]);
    const cases = [
      { from: src.slice(0, 1, 3), at: 2 * 64, n: 128 }, // offsets and count multiples of 4: vec4
      { from: src.reshape([320]).slice(0, 3, 40), at: 5, n: 37 }, // odd offsets: one element a thread
      { from: src.reshape([320]).slice(0, 8, 12), at: 0, n: 4 },
    ];
    for (const c of cases) {
      const dst = Tensor.from(b, new Float32Array(6 * 64).fill(-7), [6 * 64]);
      const region = dst.slice(0, c.at, c.at + c.n);
      const from = c.from.reshape([c.n]);
      copyInto(from, region);
      const got = await dst.data();
      const want = new Float32Array(6 * 64).fill(-7);
      want.set(x.subarray(c.from.offset, c.from.offset + c.n), c.at);
      expect(Array.from(got), `seed=${seed} at=${c.at}`).toEqual(Array.from(want));
      for (const t of [dst, region, from, c.from]) t.dispose();
    }
    const key = (shape: number[], srcStrides: number[], srcOffset: number, dstStrides: number[], dstOffset: number) =>
      stridedCopy.program({ shape, srcStrides, srcOffset, dstStrides, dstOffset, type: 'f32' }, b.caps).key;
    expect(key([2, 64], [64, 1], 64, [64, 1], 128)).toBe('stridedCopy:f32:flat4');
    expect(key([37], [1], 3, [1], 5)).toBe('stridedCopy:f32:flat');
    expect(key([2, 1, 3], [3, 9, 1], 0, [3, 3, 1], 0)).toBe('stridedCopy:f32:flat'); // size-1 dims' strides do not matter
    expect(key([2, 64], [128, 1], 0, [64, 1], 0)).toBe('stridedCopy:f32');
    const ints = Tensor.from(b, Int32Array.from({ length: 12 }, (_, i) => i - 5), [3, 4], 'i32');
    expect(Array.from(await concat([ints, ints], 0).data())).toEqual([...Array(12).keys(), ...Array(12).keys()].map((i) => i - 5));
    src.dispose();
    ints.dispose();
  });

  it('concat along each axis, including views and a negative axis', async () => {
    const b = await make();
    const seed = freshSeed();
    const a = randF32(2 * 3 * 5, seed);
    const c = randF32(2 * 4 * 5, seed + 1);
    const ta = Tensor.from(b, a, [2, 3, 5]);
    const tc = Tensor.from(b, c, [2, 4, 5]);
    const out = concat([ta, tc], -2);
    expect(out.shape).toEqual([2, 7, 5]);
    const want = [...a.slice(0, 15), ...c.slice(0, 20), ...a.slice(15), ...c.slice(20)];
    expect(Array.from(await out.data()), `seed=${seed}`).toEqual(want);
    const v = ta.transpose(0, 2); // [5, 3, 2] view
    const out0 = concat([v, v], 0);
    const vd = Array.from(await v.data());
    expect(Array.from(await out0.data())).toEqual([...vd, ...vd]);
    const ti = Tensor.from(b, [1, 2, 3, 4], [2, 2], 'i32');
    const outI = concat([ti, ti, ti], 1);
    expect(Array.from(await outI.data())).toEqual([1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
    const h = Tensor.from(b, [1, 2, 3, 4], [2, 2], 'bf16');
    const outH = concat([h, h], 0);
    expect(Array.from(await outH.data())).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    expect(() => concat([ta, tc], 0)).toThrow(/concat: shapes \[2, 3, 5\], \[2, 4, 5\] differ outside axis 0/);
    expect(() => concat([ta, ti], 0)).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
    for (const u of [ta, tc, out, v, out0, ti, outI, h, outH]) u.dispose();
  });
});
