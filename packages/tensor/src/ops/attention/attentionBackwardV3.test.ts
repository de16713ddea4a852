/**
 * The dense attention backward's v3 kernels on WebGPU, beyond the gradients that
 * attentionBackward.test.ts checks for every version: the band of score gradients the dkv kernel
 * stores, entry by entry against the float64 reference's (denseAttentionDkvDs.ref on float64 arrays);
 * dq-from-dS tiles other than the table's; the band's size limit.
 */
import {
  ArgumentError,
  type DenseBackwardParams,
  type DqFromDsShape,
  denseAttentionDelta,
  denseAttentionDkvDs,
  denseAttentionDqFromDs,
  denseAttentionLseDelta,
  denseDsBandElements,
  swaAttentionBackwardRef,
} from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { EPS32, expectClose, freshSeed, randF32, toF64, webgpuBackend } from '../../test-utils/index.js';
import { swaAttentionBackward } from './attentionBackward.js';
import { attentionInputs, gradTol } from './helpers.js';
import { chunkEncoderAttentionWithLse, swaAttentionWithLse } from './swaAttention.js';

const skip = process.env.HSA_SKIP_WEBGPU === '1';


/** Forward with lse on `be`, then v3's ld, dkv-with-band and dq-from-band through the kernels. */
async function runV3(p: DenseBackwardParams, ins: Float32Array[]) {
  const be = await webgpuBackend();
  const lead = p.mode === 'window' ? [p.segs * p.t] : [p.segs, p.t];
  const [q, k, v, dout] = ins.map((x, i) => Tensor.from(be, x, [...lead, i === 0 || i === 3 ? p.hq : p.hk, p.d]));
  const fwd = p.mode === 'window' ? swaAttentionWithLse(q, k, v, { window: p.window, segment: p.t, variant: 'tiles' }) : chunkEncoderAttentionWithLse(q, k, v);
  if (!fwd.lse) throw new Error('no lse');
  const ld = Tensor.empty(be, [2 * fwd.lse.size]);
  be.run(denseAttentionLseDelta, { n: fwd.lse.size, d: p.d }, [fwd.out.arg(), dout.arg(), fwd.lse.arg(), ld.arg()]);
  const [dq, dk, dv] = [q.shape, k.shape, k.shape].map((s) => Tensor.empty(be, s));
  const ds = Tensor.empty(be, [denseDsBandElements(p)]);
  be.run(denseAttentionDkvDs, p, [q, k, v, dout, ld, dk, dv, ds].map((t) => t.arg()));
  be.run(denseAttentionDqFromDs, p, [ds.arg(), k.arg(), dq.arg()]);
  return { be, got: await Promise.all([dq, dk, dv, ds].map((t) => t.data())) };
}

describe('dense attention backward v3 on webgpu', () => {
  // [mode, segments, tokens, hq, hk, d, window, dkv kernel: v4 blocks with NR rows (D ≤ 64) or v2's,
  //  v4's prefetch, v4's loops unrolled, constant ratio, workgroups tile-major, phase B in halves]
  type DkvV4 = DenseBackwardParams['dkvV4'];
  const CASES: [DenseBackwardParams['mode'], number, number, number, number, number, number, DkvV4, boolean?, boolean?, boolean?, boolean?, boolean?][] = [
    ['window', 3, 70, 4, 2, 64, 30, 8, false, true, true, true, true],
    ['window', 1, 200, 3, 3, 40, 200, 4, false, false, true, true, true],
    ['block', 3, 21, 4, 1, 33, 0, 4, true, false, true, true, true],
    ['window', 3, 19, 4, 2, 17, 7, 8, false, true, false, false, true],
    ['block', 1, 1, 1, 1, 8, 0, 4, false, false, true, true, true],
    ['window', 3, 70, 4, 2, 64, 30, 8, false, true, true, true, false],
    ['window', 1, 200, 3, 3, 40, 200, 4, true, false, true, true, false],
    ['block', 3, 21, 4, 1, 33, 0, 4, false, false, true, true, false],
    ['window', 1, 150, 1, 1, 60, 200, 8, false, true, true, true, false],
    ['window', 2, 33, 3, 3, 128, 33, undefined, undefined, undefined, undefined, true],
    ['window', 2, 70, 3, 1, 5, 64, 8, false, true, true],
    ['block', 3, 21, 4, 1, 33, 0, 4, true, false, true],
    ['window', 1, 45, 2, 2, 64, 20, 4, false, false, true],
    ['window', 3, 19, 4, 2, 17, 7, 8, false, true, false],
    ['window', 2, 70, 3, 1, 5, 64, 8, true, true],
    ['block', 3, 21, 4, 1, 33, 0, 4, false, true],
    ['window', 1, 45, 2, 1, 64, 20, 4, true],
    ['window', 3, 19, 4, 2, 17, 7, 4, true],
    ['window', 1, 150, 1, 1, 60, 200, 8, true],
    ['window', 2, 70, 3, 1, 5, 64, 8, true],
    ['block', 3, 21, 4, 1, 33, 0, 4, true],
    ['block', 2, 80, 1, 1, 64, 0, 8, true],
    ['block', 1, 1, 1, 1, 8, 0, 4, true],
    ['window', 1, 130, 2, 1, 64, 200, 8, false],
    ['window', 1, 45, 2, 1, 64, 20, 4],
    ['window', 1, 45, 2, 1, 64, 20, false],
    ['window', 3, 19, 4, 2, 17, 7, 4],
    ['window', 3, 19, 4, 2, 17, 7, false],
    ['window', 1, 150, 1, 1, 60, 200, 8],
    ['window', 2, 70, 3, 1, 5, 64, 8],
    ['window', 2, 33, 3, 3, 128, 33, undefined],
    ['window', 1, 130, 2, 1, 64, 200, undefined],
    ['block', 3, 21, 4, 1, 33, 0, 4],
    ['block', 2, 80, 1, 1, 64, 0, 8],
    ['block', 1, 1, 1, 1, 8, 0, 4],
  ];
  it.skipIf(skip).each(CASES)('%s: %i segments of %i, hq=%i hk=%i d=%i window=%i, dkv v4 rows %s, prefetch %s, unrolled %s, constant ratio %s, tile-major %s, halves %s: the band of dS = the float64 one', async (mode, segs, t, hq, hk, d, window, dkvV4, dkvPrefetch, dkvUnroll, dkvConstRatio, tileMajor, dkvHalves) => {
    const seed = freshSeed();
    const p: DenseBackwardParams = { mode, segs, t, hq, hk, d, window, version: 'v3', dkvV4, dkvPrefetch, dkvUnroll, dkvConstRatio, tileMajor, dkvHalves };
    const be = await webgpuBackend();
    const key = denseAttentionDkvDs.program(p, be.caps).key;
    if (tileMajor !== undefined) {
      expect(denseAttentionDqFromDs.program(p, be.caps).key.endsWith(':tm')).toBe(tileMajor);
      if (key.startsWith('denseAttentionDkvV4')) expect(key.endsWith(':tm')).toBe(tileMajor);
    }
    expect(key.startsWith('denseAttentionDkvV4')).toBe(d <= 64 && dkvV4 !== false);
    if (dkvPrefetch !== undefined && key.startsWith('denseAttentionDkvV4')) expect(key.includes(':pf')).toBe(dkvPrefetch);
    if (key.startsWith('denseAttentionDkvV4')) expect(key.replace(/:tm$/, '').endsWith(`:r${hq / hk}`)).toBe(dkvConstRatio !== false);
    if (dkvUnroll) expect(key.includes(':u')).toBe(true);
    if (key.startsWith('denseAttentionDkvV4')) expect(key.includes(':hv')).toBe(dkvHalves !== false);
    const ins = attentionInputs(seed, segs * t * hq * d, segs * t * hk * d);
    const { got } = await runV3(p, ins);
    const want = [ins[0].length, ins[1].length, ins[1].length].map((n) => new Float64Array(n));
    const band = new Float64Array(denseDsBandElements(p)).fill(Number.NaN);
    denseAttentionDkvDs.ref([...ins.map(toF64), new Float64Array(0), want[1], want[2], band], p);
    // the entries some row sees (the reference wrote them); each |dS| ≤ p·|dP − delta|·scale
    const seen = [...band.keys()].filter((i) => !Number.isNaN(band[i]));
    expect(seen.length).toBeGreaterThan(0);
    const scale = 1 / Math.sqrt(d);
    expectClose(
      seen.map((i) => got[3][i]),
      seen.map((i) => band[i]),
      64 * EPS32 * (4 * d + t) * 2 * d * scale,
      `dS seed=${seed}`,
    );
    // dq from the stored band, dk and dv beside it: the float64 backward (segments one by one)
    const refs = [ins[0].length, ins[1].length, ins[1].length].map((n) => new Float64Array(n));
    if (mode === 'window') {
      const [qs, ks] = [t * hq * d, t * hk * d];
      for (let s = 0; s < segs; s++) {
        const part = (a: ArrayLike<number>, n: number) => toF64(Array.from({ length: n }, (_, i) => a[s * n + i]));
        const g = [qs, ks, ks].map((n) => new Float64Array(n));
        swaAttentionBackwardRef([part(ins[0], qs), part(ins[1], ks), part(ins[2], ks), part(ins[3], qs), ...g], { t, hq, hk, d, window });
        for (const [i, n] of [qs, ks, ks].entries()) refs[i].set(g[i], s * n);
      }
      for (const [i, name] of ['dq', 'dk', 'dv'].entries()) {
        expectClose(got[i], refs[i], gradTol(refs[i], d, (window + 1) * hq), `${name} seed=${seed}`);
      }
    }
  });

  it.skipIf(skip)('dkv: v4 blocks for D ≤ 64 compiled for the head ratio, tile-major, phase B in halves with 4 rows a thread (loops unrolled where a key tile has ≥ 128 query rows); v2 blocks above 64', async () => {
    const be = await webgpuBackend();
    const key = (p: Partial<DenseBackwardParams>) => denseAttentionDkvDs.program({ mode: 'window', segs: 1, t: 4096, hq: 8, hk: 8, d: 64, window: 4096, ...p }, be.caps).key;
    expect(key({})).toBe('denseAttentionDkvV4:window:4:d64:u:hv:r1:tm');
    expect(key({ window: 127 })).toBe('denseAttentionDkvV4:window:4:d64:u:hv:r1:tm');
    expect(key({ window: 126 })).toBe('denseAttentionDkvV4:window:4:d64:hv:r1:tm');
    expect(key({ window: 100, hq: 16, hk: 8 })).toBe('denseAttentionDkvV4:window:4:d64:u:hv:r2:tm');
    expect(key({ mode: 'block', segs: 512, t: 64 })).toBe('denseAttentionDkvV4:block:4:d64:hv:r1:tm');
    expect(key({ mode: 'block', segs: 512, t: 64, hq: 16, hk: 8 })).toBe('denseAttentionDkvV4:block:4:d64:u:hv:r2:tm');
    expect(key({ dkvUnroll: false })).toBe('denseAttentionDkvV4:window:4:d64:hv:r1:tm');
    expect(key({ dkvConstRatio: false })).toBe('denseAttentionDkvV4:window:4:d64:u:hv:tm');
    expect(key({ dkvV4: 8 })).toBe('denseAttentionDkvV4:window:8:d64:u:hv:r1:tm');
    expect(key({ tileMajor: false })).toBe('denseAttentionDkvV4:window:4:d64:u:hv:r1');
    // without halves: 8 rows a thread (loops unrolled) where a key tile has ≥ 128 query rows, else 4
    expect(key({ dkvHalves: false })).toBe('denseAttentionDkvV4:window:8:d64:u:r1:tm');
    expect(key({ dkvHalves: false, window: 126 })).toBe('denseAttentionDkvV4:window:4:d64:r1:tm');
    expect(key({ dkvHalves: false, dkvV4: 4 })).toBe('denseAttentionDkvV4:window:4:d64:r1:tm');
    expect(key({ dkvV4: false })).toMatch(/^denseAttentiondkvV2:/);
    expect(key({ d: 65 })).toMatch(/^denseAttentiondkvV2:/);
  });

  const TILES: [number, number, number, number, DqFromDsShape, boolean][] = [
    // T, hq, hk, d, dq-from-dS tile [BR, KT, NR, G], prefetch (the next key tile into registers)
    [70, 2, 1, 64, [128, 32, 8, 1], false],
    [37, 3, 1, 64, [64, 16, 2, 2], false],
    [29, 2, 2, 128, [64, 32, 2, 4], false],
    [70, 2, 1, 64, [64, 16, 4, 1], true],
    [37, 3, 1, 64, [64, 8, 4, 1], true],
    [29, 2, 2, 128, [64, 32, 2, 4], true],
    [45, 1, 1, 17, [64, 32, 2, 1], true],
    [33, 2, 1, 16, [64, 32, 1, 1], true],
  ];
  it.skipIf(skip).each(TILES)('dq from dS with tile T=%i hq=%i hk=%i d=%i %j, prefetch %s = float64', async (t, hq, hk, d, tile, dqPrefetch) => {
    const seed = freshSeed();
    const window = Math.floor(t / 2);
    const p: DenseBackwardParams = { mode: 'window', segs: 1, t, hq, hk, d, window, version: 'v3', tileDqFromDs: tile, dqPrefetch };
    const be = await webgpuBackend();
    expect(denseAttentionDqFromDs.program(p, be.caps).key).toContain(`${tile[0]}x${tile[1]}:${tile[2]}x${tile[3]}`);
    expect(denseAttentionDqFromDs.program(p, be.caps).key.replace(/:tm$/, '').endsWith(':pf')).toBe(dqPrefetch);
    const ins = attentionInputs(seed, t * hq * d, t * hk * d);
    const { got } = await runV3(p, ins);
    const want = [t * hq * d, t * hk * d, t * hk * d].map((n) => new Float64Array(n));
    swaAttentionBackwardRef([...ins.map(toF64), ...want], { t, hq, hk, d, window });
    expectClose(got[0], want[0], gradTol(want[0], d, (window + 1) * hq), `dq seed=${seed}`);
  });

  it.skipIf(skip)('dq from dS: tile-major; prefetched 64 × 32 tiles by default in window mode for head sizes 33–64, else the table unprefetched', async () => {
    const be = await webgpuBackend();
    const key = (p: Partial<DenseBackwardParams>) => denseAttentionDqFromDs.program({ mode: 'window', segs: 1, t: 4096, hq: 8, hk: 8, d: 64, window: 4096, ...p }, be.caps).key;
    expect(key({})).toBe('denseAttentionDqFromDs:window:64x32:4x1:d64:pf:tm');
    expect(key({ d: 40 })).toBe('denseAttentionDqFromDs:window:64x32:4x1:d40:pf:tm');
    expect(key({ dqPrefetch: false })).toBe('denseAttentionDqFromDs:window:64x16:4x1:d64:tm');
    expect(key({ mode: 'block', segs: 512, t: 64 })).toBe('denseAttentionDqFromDs:block:64x16:4x1:d64:tm');
    expect(key({ d: 128 })).toBe('denseAttentionDqFromDs:window:64x32:4x2:d128:tm');
    expect(key({ tileDqFromDs: [64, 8, 4, 1] })).toBe('denseAttentionDqFromDs:window:64x8:4x1:d64:pf:tm');
    expect(key({ tileMajor: false })).toBe('denseAttentionDqFromDs:window:64x32:4x1:d64:pf');
  });

  it.skipIf(skip).each([
    [1, 1],
    [37, 5],
    [1000, 64],
    [33, 130],
  ])('lse / delta of %i rows of %i: [lse | Σ out·dout] and Σ out·dout alone = float64', async (n, d) => {
    const be = await webgpuBackend();
    const seed = freshSeed();
    const [out, dout, lse] = [randF32(n * d, seed), randF32(n * d, seed + 1), randF32(n, seed + 2)];
    const want = new Float64Array(n);
    const mag = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        want[i] += out[i * d + j] * dout[i * d + j];
        mag[i] += Math.abs(out[i * d + j] * dout[i * d + j]);
      }
    }
    const [to, tdo, tl] = [Tensor.from(be, out, [n, d]), Tensor.from(be, dout, [n, d]), Tensor.from(be, lse, [n])];
    const ld = Tensor.empty(be, [2 * n]);
    const delta = Tensor.empty(be, [n]);
    be.run(denseAttentionLseDelta, { n, d }, [to.arg(), tdo.arg(), tl.arg(), ld.arg()]);
    be.run(denseAttentionDelta, { n, d }, [to.arg(), tdo.arg(), delta.arg()]);
    const got = await ld.data();
    expect(Array.from(got.subarray(0, n))).toEqual(Array.from(lse));
    const tol = (i: number) => 2 * EPS32 * d * mag[i] + 1e-30;
    expectClose(got.subarray(n), want, tol, `delta in ld seed=${seed}`);
    expectClose(await delta.data(), want, tol, `delta seed=${seed}`);
  });

  it.skipIf(skip)('a dq tile its blocks do not cover is an ArgumentError', async () => {
    const be = await webgpuBackend();
    const p: DenseBackwardParams = { mode: 'window', segs: 1, t: 4, hq: 1, hk: 1, d: 64, window: 4, tileDqFromDs: [64, 32, 2, 1] };
    expect(() => denseAttentionDqFromDs.program(p, be.caps)).toThrow(ArgumentError);
  });

  it.skipIf(skip)('a band over scoreGradBytes: forced v3 is an ArgumentError, auto takes v2 (same gradients)', async () => {
    const be = await webgpuBackend();
    const [t, hq, d] = [40, 2, 16];
    const ins = attentionInputs(freshSeed(), t * hq * d, t * hq * d);
    const [q, k, v, dout] = ins.map((x) => Tensor.from(be, x, [t, hq, d]));
    const { out, lse } = swaAttentionWithLse(q, k, v, { window: t, variant: 'tiles' });
    if (!lse) throw new Error('no lse');
    const bytes = 4 * hq * t * t;
    expect(() => swaAttentionBackward(q, k, v, out, lse, dout, { window: t, version: 'v3', scoreGradBytes: bytes - 4 })).toThrow(ArgumentError);
    const small = swaAttentionBackward(q, k, v, out, lse, dout, { window: t, scoreGradBytes: bytes - 4 });
    const v3 = swaAttentionBackward(q, k, v, out, lse, dout, { window: t, version: 'v3', scoreGradBytes: bytes });
    for (const name of ['dq', 'dk', 'dv'] as const) {
      const [a, b] = [await small[name].data(), await v3[name].data()];
      expectClose(a, toF64(b), 1e-5, name);
    }
  });
});
