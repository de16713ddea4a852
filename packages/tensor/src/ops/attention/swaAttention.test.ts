/**
 * swaAttention, chunkEncoderAttention, swaAttentionDecode on every backend against the CPU references
 * run in float64 (the references themselves are checked against oracles and the golden run).
 */
import { chunkEncoderAttentionForwardRef, swaAttentionDecodeRef, swaAttentionForwardRef } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { expectClose, freshSeed, randF32, testBackends, toF64 } from '../../test-utils/index.js';
import { attnTol } from './helpers.js';
import { chunkEncoderAttention, swaAttention, swaAttentionDecode, swaAttentionSegment } from './swaAttention.js';


describe.each(testBackends())('dense attention kernels on %s', (_name, makeBackend) => {
  it.each([
    [1, 1, 1, 4, 0],
    [70, 4, 1, 16, 5],
    [67, 6, 2, 33, 100],
    [67, 16, 1, 128, 40],
    [29, 3, 3, 8, 1],
  ])('swaAttention T=%i hq=%i hk=%i d=%i window=%i', async (T, hq, hk, d, window) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const [q, k, v] = [randF32(T * hq * d, seed, -2, 2), randF32(T * hk * d, seed + 1, -2, 2), randF32(T * hk * d, seed + 2)];
    const tensors = [Tensor.from(be, q, [T, hq, d]), Tensor.from(be, k, [T, hk, d]), Tensor.from(be, v, [T, hk, d])];
    const out = swaAttention(tensors[0], tensors[1], tensors[2], { window });
    const want = new Float64Array(T * hq * d);
    swaAttentionForwardRef([toF64(q), toF64(k), toF64(v), want], { t: T, hq, hk, d, window });
    expectClose(await out.data(), want, attnTol(d, window + 1), `seed=${seed}`);
    for (const t of [...tensors, out]) t.dispose();
  });

  it.each([
    [3, 37, 4, 2, 16, 8],
    [4, 9, 2, 1, 8, 20],
    [2, 70, 16, 1, 128, 40],
  ])('swaAttention of %i packed sequences of %i (hq=%i hk=%i d=%i window=%i) = each sequence alone', async (n, L, hq, hk, d, window) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const T = n * L;
    const [q, k, v] = [randF32(T * hq * d, seed, -2, 2), randF32(T * hk * d, seed + 1, -2, 2), randF32(T * hk * d, seed + 2)];
    const out = swaAttention(Tensor.from(be, q, [T, hq, d]), Tensor.from(be, k, [T, hk, d]), Tensor.from(be, v, [T, hk, d]), { window, segment: L });
    const want = new Float64Array(T * hq * d);
    const [nq, nk] = [L * hq * d, L * hk * d];
    for (let b = 0; b < n; b++) {
      const part = new Float64Array(nq);
      const sl = (a: Float32Array, m: number) => toF64(a.subarray(b * m, (b + 1) * m));
      swaAttentionForwardRef([sl(q, nq), sl(k, nk), sl(v, nk), part], { t: L, hq, hk, d, window });
      want.set(part, b * nq);
    }
    expectClose(await out.data(), want, attnTol(d, window + 1), `seed=${seed}`);
    // a segment that does not divide the tokens is refused
    expect(() => swaAttention(Tensor.from(be, q, [T, hq, d]), Tensor.from(be, k, [T, hk, d]), Tensor.from(be, v, [T, hk, d]), { window, segment: L + 1 })).toThrow(/segment must be/);
  });

  it.each([
    [3, 65, 8, 2, 16],
    [2, 7, 2, 2, 5],
  ])('chunkEncoderAttention n=%i T=%i hq=%i hk=%i d=%i', async (n, T, hq, hk, d) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const [q, k, v] = [randF32(n * T * hq * d, seed), randF32(n * T * hk * d, seed + 1), randF32(n * T * hk * d, seed + 2)];
    const out = chunkEncoderAttention(Tensor.from(be, q, [n, T, hq, d]), Tensor.from(be, k, [n, T, hk, d]), Tensor.from(be, v, [n, T, hk, d]));
    const want = new Float64Array(n * T * hq * d);
    chunkEncoderAttentionForwardRef([toF64(q), toF64(k), toF64(v), want], { n, t: T, hq, hk, d });
    expectClose(await out.data(), want, attnTol(d, T), `seed=${seed}`);
  });

  it.each([
    [70, 30, 4, 2, 16, 40],
    [9, 64, 2, 1, 8, 64],
    [5, 0, 3, 3, 4, 2],
  ])('swaAttentionSegment T=%i after H=%i, hq=%i hk=%i d=%i window=%i = rows H… of the padded swaAttention, bit for bit', async (T, H, hq, hk, d, window) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const q = randF32(T * hq * d, seed, -2, 2);
    const [k, v] = [randF32((H + T) * hk * d, seed + 1, -2, 2), randF32((H + T) * hk * d, seed + 2)];
    const [kt, vt] = [Tensor.from(be, k, [H + T, hk, d]), Tensor.from(be, v, [H + T, hk, d])];
    const padded = new Float32Array((H + T) * hq * d);
    padded.set(q, H * hq * d);
    const full = swaAttention(Tensor.from(be, padded, [H + T, hq, d]), kt, vt, { window });
    const seg = swaAttentionSegment(Tensor.from(be, q, [T, hq, d]), kt, vt, { window });
    expect(seg.shape).toEqual([T, hq, d]);
    expect(Array.from(await seg.data())).toEqual(Array.from((await full.data()).subarray(H * hq * d)));
  });

  it.each([
    [4, 1, 0, 6],
    [6, 2, 5, 12],
    [3, 3, 40, 9],
  ])('swaAttentionDecode hq=%i hk=%i window=%i over %i steps', async (hq, hk, window, steps) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const d = 12;
    const [q, k, v] = [randF32(steps * hq * d, seed), randF32(steps * hk * d, seed + 1), randF32(steps * hk * d, seed + 2)];
    const kc = Tensor.from(be, new Float32Array(window * hk * d).fill(Number.NaN), [window, hk, d]);
    const vc = Tensor.from(be, new Float32Array(window * hk * d).fill(Number.NaN), [window, hk, d]);
    const [kr, vr] = [new Float64Array(window * hk * d), new Float64Array(window * hk * d)];
    for (let t = 0; t < steps; t++) {
      const row = (a: Float32Array, h: number) => a.subarray(t * h * d, (t + 1) * h * d);
      const out = swaAttentionDecode(
        Tensor.from(be, row(q, hq), [hq, d]),
        Tensor.from(be, row(k, hk), [hk, d]),
        Tensor.from(be, row(v, hk), [hk, d]),
        kc,
        vc,
        { pos: t },
      );
      const want = new Float64Array(hq * d);
      swaAttentionDecodeRef([toF64(row(q, hq)), toF64(row(k, hk)), toF64(row(v, hk)), kr, vr, want], { pos: t, hq, hk, d, window });
      expectClose(await out.data(), want, attnTol(d, window + 1), `t=${t} seed=${seed}`);
      out.dispose();
    }
    expect(kc.shape).toEqual([window, hk, d]);
  });
});
