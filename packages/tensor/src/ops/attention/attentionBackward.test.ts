/**
 * swaAttentionBackward and chunkEncoderAttentionBackward on every backend with each kernel version
 * forced (v1, and v2 and v3 where they apply, D ≤ 128: swaAttentionBackward.ts in @hsa/kernels; v3's
 * band of score gradients comes from the poisoned allocations, so a visible entry the dkv kernel
 * does not write, or an entry no row sees that the dq kernel reads, is a NaN in dq), against the
 * CPU backward references run in float64 (those are checked by finite differences in
 * attentionGrad.test.ts); v2 also against central differences of the float64 forward at tiny sizes.
 * Sizes at the tiles' edges: T not a multiple of any tile, T = 1, window 0, below, equal to and above
 * T, packed segments, Hq:Hk 1:1, 2:1, 3:1, 4:1, 16:1, D 3 … 130 (16, 33, 64, 128: each padded head
 * size of v2). Fresh random inputs per run (the seed is in the failure message); outputs come from
 * the test backends' poisoned allocations. On the CPU backend the kernels run their reference
 * whatever the version.
 */
import {
  ArgumentError,
  chunkEncoderAttentionBackwardRef,
  chunkEncoderAttentionForwardRef,
  type DenseBackShapeV2,
  type DenseBackwardParams,
  denseAttentionDelta,
  denseAttentionDkv,
  denseAttentionDq,
  swaAttentionBackwardRef,
  swaAttentionForwardRef,
} from '@hsa/kernels';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../backend.js';
import { Tensor } from '../../tensor.js';
import { expectClose, freshSeed, testBackends, toF64, webgpuBackend } from '../../test-utils/index.js';
import { chunkEncoderAttentionBackward, swaAttentionBackward } from './attentionBackward.js';
import { attentionInputs, dotAll, gradTol } from './helpers.js';
import { chunkEncoderAttentionWithLse, swaAttentionWithLse } from './swaAttention.js';

type Version = 'v1' | 'v2' | 'v3';


async function expectGrads(got: Tensor[], want: Float64Array[], d: number, terms: number, label: string) {
  const names = ['dq', 'dk', 'dv'];
  for (let i = 0; i < 3; i++) expectClose(await got[i].data(), want[i], gradTol(want[i], d, terms), `${names[i]} ${label}`);
  for (const t of got) t.dispose();
}

/** Each case once per version that applies to its head size (column `dAt`): v1, and v2, v3 for D ≤ 128. */
function versions<C extends number[]>(cases: C[], dAt: number): [Version, ...C][] {
  return cases.flatMap((c) => (['v1', 'v2', 'v3'] as const).filter((v) => v === 'v1' || c[dAt] <= 128).map((v): [Version, ...C] => [v, ...c]));
}

/** Forward with lse, then the backward with `version`, on tensors of shapes [..., Hq | Hk, D]. */
function swaGrads(be: Backend, [q, k, v, dout]: Float32Array[], [T, hq, hk, d]: number[], o: { window: number; segment?: number; version: Version }) {
  const [tq, tk, tv] = [Tensor.from(be, q, [T, hq, d]), Tensor.from(be, k, [T, hk, d]), Tensor.from(be, v, [T, hk, d])];
  const { out, lse } = swaAttentionWithLse(tq, tk, tv, o);
  if (!lse) throw new Error('no lse');
  const g = swaAttentionBackward(tq, tk, tv, out, lse, Tensor.from(be, dout, [T, hq, d]), o);
  return [g.dq, g.dk, g.dv];
}

function chunkGrads(be: Backend, [q, k, v, dout]: Float32Array[], [n, T, hq, hk, d]: number[], version: Version) {
  const [tq, tk, tv] = [Tensor.from(be, q, [n, T, hq, d]), Tensor.from(be, k, [n, T, hk, d]), Tensor.from(be, v, [n, T, hk, d])];
  const { out, lse } = chunkEncoderAttentionWithLse(tq, tk, tv);
  if (!lse) throw new Error('no lse');
  const g = chunkEncoderAttentionBackward(tq, tk, tv, out, lse, Tensor.from(be, dout, [n, T, hq, d]), { version });
  return [g.dq, g.dk, g.dv];
}

describe.each(testBackends())('dense attention backward on %s', (_name, makeBackend) => {
  it.each(
    versions(
      [
        [1, 1, 1, 4, 0],
        [1, 3, 1, 64, 5],
        [70, 4, 1, 16, 5],
        [70, 4, 1, 16, 70],
        [67, 6, 2, 33, 100],
        [29, 3, 3, 8, 1],
        [97, 1, 1, 64, 0],
        [45, 3, 1, 64, 100],
        [40, 16, 1, 64, 13],
        [12, 2, 1, 66, 9],
        [50, 8, 2, 128, 13],
        [33, 1, 1, 128, 40],
        [9, 3, 1, 130, 3],
      ],
      3,
    ),
  )('%s swaAttentionBackward T=%i hq=%i hk=%i d=%i window=%i', async (version, T, hq, hk, d, window) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const ins = attentionInputs(seed, T * hq * d, T * hk * d);
    const g = swaGrads(be, ins, [T, hq, hk, d], { window, version });
    const want = [T * hq * d, T * hk * d, T * hk * d].map((n) => new Float64Array(n));
    swaAttentionBackwardRef([...ins.map(toF64), ...want], { t: T, hq, hk, d, window });
    await expectGrads(g, want, d, (window + 1) * (hq / hk), `seed=${seed}`);
  });

  it.each(
    versions(
      [
        [3, 37, 4, 2, 16, 8],
        [4, 9, 2, 1, 8, 20],
        [3, 29, 3, 1, 64, 50],
        [2, 33, 1, 1, 33, 5],
        [2, 64, 32, 2, 128, 40],
      ],
      4,
    ),
  )('%s swaAttentionBackward of %i packed sequences of %i (hq=%i hk=%i d=%i window=%i) = each sequence alone', async (version, n, L, hq, hk, d, window) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const T = n * L;
    const [nq, nk] = [L * hq * d, L * hk * d];
    const ins = attentionInputs(seed, n * nq, n * nk);
    const g = swaGrads(be, ins, [T, hq, hk, d], { window, segment: L, version });
    // the oracle: each sequence through the unsegmented reference on its own
    const want = [n * nq, n * nk, n * nk].map((x) => new Float64Array(x));
    for (let b = 0; b < n; b++) {
      const part = [nq, nk, nk].map((x) => new Float64Array(x));
      const sl = (a: Float32Array, m: number) => toF64(a.subarray(b * m, (b + 1) * m));
      swaAttentionBackwardRef([sl(ins[0], nq), sl(ins[1], nk), sl(ins[2], nk), sl(ins[3], nq), ...part], { t: L, hq, hk, d, window });
      for (const [i, m] of [nq, nk, nk].entries()) want[i].set(part[i], b * m);
    }
    await expectGrads(g, want, d, (Math.min(window, L) + 1) * (hq / hk), `seed=${seed}`);
  });

  it.each(
    versions(
      [
        [3, 65, 8, 2, 16],
        [2, 7, 3, 1, 5],
        [4, 5, 2, 2, 3],
        [1, 1, 1, 1, 64],
        [2, 33, 4, 1, 64],
        [1, 20, 3, 1, 33],
        [2, 17, 2, 2, 128],
      ],
      4,
    ),
  )('%s chunkEncoderAttentionBackward n=%i T=%i hq=%i hk=%i d=%i', async (version, n, T, hq, hk, d) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const [nq, nk] = [n * T * hq * d, n * T * hk * d];
    const ins = attentionInputs(seed, nq, nk);
    const g = chunkGrads(be, ins, [n, T, hq, hk, d], version);
    const want = [nq, nk, nk].map((x) => new Float64Array(x));
    chunkEncoderAttentionBackwardRef([...ins.map(toF64), ...want], { n, t: T, hq, hk, d });
    await expectGrads(g, want, d, T * (hq / hk), `seed=${seed}`);
  });
});

/**
 * v2's gradients on the GPU against central differences (step 1e-5, float64) of L = Σ out·dout with
 * out from the float64 forward reference: an oracle that shares no code with the backward references.
 */
describe('dense attention backward v2 on webgpu = finite differences of the float64 forward', () => {
  const skip = process.env.HSA_SKIP_WEBGPU === '1';
  let webgpu: Backend;
  beforeAll(async () => {
    if (!skip) webgpu = await webgpuBackend();
  });

  async function expectFiniteDiffs(ins: Float32Array[], got: Tensor[], forward: (x: Float64Array[], out: Float64Array) => void, d: number, terms: number, label: string) {
    const x = ins.map(toF64);
    const out = new Float64Array(x[0].length);
    const loss = () => {
      forward(x, out);
      return dotAll(out, x[3]);
    };
    for (const [i, name] of ['dq', 'dk', 'dv'].entries()) {
      const num = x[i].map((x0, e) => {
        const h = 1e-5;
        x[i][e] = x0 + h;
        const lp = loss();
        x[i][e] = x0 - h;
        const lm = loss();
        x[i][e] = x0;
        return (lp - lm) / (2 * h);
      });
      expectClose(await got[i].data(), num, gradTol(num, d, terms), `${name} ${label}`);
      got[i].dispose();
    }
  }

  it.skipIf(skip).each(['v2', 'v3'] as const)('%s swa T=7 hq=3 hk=1 d=5 window=2', async (version) => {
    const seed = freshSeed();
    const [T, hq, hk, d, window] = [7, 3, 1, 5, 2];
    const ins = attentionInputs(seed, T * hq * d, T * hk * d);
    const got = swaGrads(webgpu, ins, [T, hq, hk, d], { window, version });
    const fwd = ([q, k, v]: Float64Array[], out: Float64Array) => swaAttentionForwardRef([q, k, v, out], { t: T, hq, hk, d, window });
    await expectFiniteDiffs(ins, got, fwd, d, (window + 1) * hq, `seed=${seed}`);
  });

  it.skipIf(skip).each(['v2', 'v3'] as const)('%s chunk encoder n=2 T=3 hq=2 hk=1 d=5', async (version) => {
    const seed = freshSeed();
    const [n, T, hq, hk, d] = [2, 3, 2, 1, 5];
    const ins = attentionInputs(seed, n * T * hq * d, n * T * hk * d);
    const got = chunkGrads(webgpu, ins, [n, T, hq, hk, d], version);
    const fwd = ([q, k, v]: Float64Array[], out: Float64Array) => chunkEncoderAttentionForwardRef([q, k, v, out], { n, t: T, hq, hk, d });
    await expectFiniteDiffs(ins, got, fwd, d, T * hq, `seed=${seed}`);
  });

  it.skipIf(skip).each(['v2', 'v3'] as const)('forcing %s above D 128 throws', async (version) => {
    const ins = attentionInputs(1, 2 * 130, 2 * 130);
    expect(() => swaGrads(webgpu, ins, [2, 1, 1, 130], { window: 1, version })).toThrow(new RegExp(`${version} does not apply to head size 130`));
  });
});

/**
 * v2 tiles other than the table's (`tileV2`: the bench/attention-backward sweep's shapes that fit
 * 32 KiB, S blocks 4×1 and 2×4, dkv blocks of 4 keys) through the kernels directly, against the
 * float64 reference; the larger tiles the table picks where a device grants 40 KiB are the same code
 * at other sizes (checked against v1 on the device by the bench before it times them).
 */
describe('dense attention backward v2 tiles on webgpu', () => {
  const skip = process.env.HSA_SKIP_WEBGPU === '1';
  const CASES: [number, number, number, number, number, DenseBackShapeV2, DenseBackShapeV2][] = [
    // T, hq, hk, d, window, dq tile, dkv tile
    [45, 2, 1, 64, 20, [32, 16, 4, 1, 2, 1], [16, 32, 1, 4, 4, 1]],
    [37, 3, 3, 32, 37, [32, 32, 2, 4, 1, 1], [32, 32, 4, 2, 2, 1]],
  ];
  it.skipIf(skip).each(CASES)('T=%i hq=%i hk=%i d=%i window=%i dq %j dkv %j', async (T, hq, hk, d, window, dqTile, dkvTile) => {
    const be = await webgpuBackend();
    const seed = freshSeed();
    const ins = attentionInputs(seed, T * hq * d, T * hk * d);
    const [tq, tk, tv] = [Tensor.from(be, ins[0], [T, hq, d]), Tensor.from(be, ins[1], [T, hk, d]), Tensor.from(be, ins[2], [T, hk, d])];
    const dout = Tensor.from(be, ins[3], [T, hq, d]);
    const { out, lse } = swaAttentionWithLse(tq, tk, tv, { window });
    if (!lse) throw new Error('no lse');
    const delta = Tensor.empty(be, [T, hq]);
    be.run(denseAttentionDelta, { n: T * hq, d }, [out.arg(), dout.arg(), delta.arg()]);
    const p: DenseBackwardParams = { mode: 'window', segs: 1, t: T, hq, hk, d, window, version: 'v2', tileV2: { dq: dqTile, dkv: dkvTile } };
    const got = [Tensor.empty(be, [T, hq, d]), Tensor.empty(be, [T, hk, d]), Tensor.empty(be, [T, hk, d])];
    const args = [tq, tk, tv, dout, lse, delta].map((t) => t.arg());
    // the tiles asked for are the ones compiled (their shape is in the pipeline key)
    for (const [k, tile] of [[denseAttentionDq, dqTile], [denseAttentionDkv, dkvTile]] as const) expect(k.program(p, be.caps).key).toContain(`${tile[0]}x${tile[1]}:${tile[2]}x${tile[3]}:${tile[4]}x${tile[5]}`);
    be.run(denseAttentionDq, p, [...args, got[0].arg()]);
    be.run(denseAttentionDkv, p, [...args, got[1].arg(), got[2].arg()]);
    const want = [new Float64Array(T * hq * d), new Float64Array(T * hk * d), new Float64Array(T * hk * d)];
    swaAttentionBackwardRef([...ins.map(toF64), ...want], { t: T, hq, hk, d, window });
    await expectGrads(got, want, d, (window + 1) * hq, `seed=${seed}`);
  });
  it.skipIf(skip)('a tile its blocks do not cover is an ArgumentError', async () => {
    const be = await webgpuBackend();
    const p: DenseBackwardParams = { mode: 'window', segs: 1, t: 4, hq: 1, hk: 1, d: 64, window: 4, version: 'v2', tileV2: { dq: [32, 16, 2, 1, 2, 1] } };
    const t = Tensor.empty(be, [4 * 64]);
    expect(() => be.run(denseAttentionDq, p, [t, t, t, t, t, t, t].map((x) => x.arg()))).toThrow(ArgumentError);
  });
});
