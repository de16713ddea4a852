/**
 * swaAttentionDecode through the split-key kernels (swaDecodeSplitPartial + Merge) with many splits:
 * full random rings (every slot written), windows longer than one split of 256 keys and not a
 * multiple of it, the ring wrapped (pos ≫ W) or not yet full, GQA and MHA, head sizes up to 256;
 * against swaAttentionDecodeRef in float64. The caches get the new token's K/V in slot pos mod W.
 */
import { swaAttentionDecodeRef, swaDecodeSplitMergeRef, swaDecodeSplitPartialRef } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { expectClose, freshSeed, randF32, testBackends, toF64 } from '../../test-utils/index.js';
import { attnTol } from './helpers.js';
import { swaAttentionDecode } from './swaAttention.js';


describe.each(testBackends())('swaAttentionDecode (split keys) on %s', (_name, makeBackend) => {
  it.each([
    // hq, hk, d, window, pos
    [4, 2, 64, 600, 1000],
    [2, 1, 16, 300, 299],
    [5, 5, 100, 513, 2000],
    [16, 1, 64, 4096, 5000],
    [1, 1, 256, 257, 300],
    [3, 1, 8, 700, 10],
  ])('hq=%i hk=%i d=%i window=%i pos=%i', async (hq, hk, d, window, pos) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const [q, kn, vn] = [randF32(hq * d, seed, -2, 2), randF32(hk * d, seed + 1, -2, 2), randF32(hk * d, seed + 2)];
    const [kc, vc] = [randF32(window * hk * d, seed + 3, -2, 2), randF32(window * hk * d, seed + 4)];
    const kt = Tensor.from(be, kc, [window, hk, d]);
    const vt = Tensor.from(be, vc, [window, hk, d]);
    const out = swaAttentionDecode(Tensor.from(be, q, [hq, d]), Tensor.from(be, kn, [hk, d]), Tensor.from(be, vn, [hk, d]), kt, vt, { pos });
    const want = new Float64Array(hq * d);
    const [kr, vr] = [toF64(kc), toF64(vc)];
    swaAttentionDecodeRef([toF64(q), toF64(kn), toF64(vn), kr, vr, want], { pos, hq, hk, d, window });
    expectClose(await out.data(), want, attnTol(d, Math.min(window, pos) + 1), `seed=${seed}`);
    expectClose(await kt.data(), kr, 0, `k ring after the append, seed=${seed}`);
  });
});

describe('split references', () => {
  it('partial + merge equal the one-pass reference for 1, 2 and 17 splits', () => {
    for (const [window, pos, block] of [
      [40, 100, 64],
      [100, 150, 64],
      [4096, 9000, 256],
    ]) {
      const seed = freshSeed();
      const [hq, hk, d] = [6, 2, 8];
      const [q, kn, vn, kc, vc] = [hq * d, hk * d, hk * d, window * hk * d, window * hk * d].map((n, i) => toF64(randF32(n, seed + i, -2, 2)));
      const p = { pos, hq, hk, d, window, block, scale: 1 / Math.sqrt(d) };
      const splits = Math.ceil((Math.min(window, pos) + 1) / block);
      const part = new Float64Array(hq * splits * (d + 2));
      swaDecodeSplitPartialRef([q, kc, vc, kn, vn, part], p);
      const [out, lse, want] = [new Float64Array(hq * d), new Float64Array(hq), new Float64Array(hq * d)];
      swaDecodeSplitMergeRef([part, out, lse], p);
      swaAttentionDecodeRef([q, kn, vn, kc, vc, want], { ...p, append: false });
      expectClose(out, want, 1e-12, `window=${window} seed=${seed}`);
      expect(lse.every(Number.isFinite)).toBe(true);
    }
  });
});
