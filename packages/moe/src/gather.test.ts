// The decode kernels (moeGatherMatvec) alone, every mode with and without the shared expert, f32 and
// packed f16/bf16 weights, on the 16-byte path (with long rows too) and the scalar path (widths not a multiple of 8), one and several tokens, against float64 (outputs
// poisoned first: an unwritten element fails).
import { type MoeGatherMatvecParams, moeGatherMatvec, moeGatherMatvecRef, moeRouterRef } from '@hsa/kernels';
import { cast, Tensor } from '@hsa/tensor';
import { expectClose, freshSeed, randF32, reductionTol, rng, testBackends } from '@hsa/tensor/test-utils';
import { describe, expect, it } from 'vitest';

type Case = { mode: MoeGatherMatvecParams['mode']; T: number; k: number; E: number; d: number; F: number; Fs: number };
const CASES: [string, Case][] = [
  ['gateUp, 16-byte rows, shared', { mode: 'gateUp', T: 1, k: 4, E: 9, d: 64, F: 48, Fs: 40 }],
  ['gateUp, scalar rows, shared wider than experts', { mode: 'gateUp', T: 3, k: 2, E: 5, d: 13, F: 7, Fs: 14 }],
  ['gateUp, no shared', { mode: 'gateUp', T: 2, k: 3, E: 4, d: 24, F: 9, Fs: 0 }],
  ['down (per assignment)', { mode: 'down', T: 2, k: 3, E: 6, d: 17, F: 16, Fs: 0 }],
  ['downCombine, 16-byte rows, shared', { mode: 'downCombine', T: 1, k: 4, E: 9, d: 37, F: 48, Fs: 40 }],
  ['downCombine, scalar rows, shared', { mode: 'downCombine', T: 3, k: 2, E: 5, d: 13, F: 7, Fs: 14 }],
  ['downCombine, no shared, one expert a token', { mode: 'downCombine', T: 2, k: 1, E: 3, d: 5, F: 24, Fs: 0 }],
  // rows of ≥ 4 · 64 words, with the shared expert
  ['gateUp, long rows, shared', { mode: 'gateUp', T: 1, k: 2, E: 3, d: 2056, F: 5, Fs: 3 }],
  ['downCombine, long rows, shared', { mode: 'downCombine', T: 2, k: 2, E: 3, d: 6, F: 1032, Fs: 1032 }],
];

describe.each(testBackends())('moeGatherMatvec on %s', (_name, make) => {
  for (const wDtype of ['f32', 'f16', 'bf16'] as const) {
    it.each(CASES)(`%s (${wDtype})`, async (_l, c) => {
      const b = await make();
      const seed = freshSeed();
      const r = rng(seed);
      const A = c.T * c.k;
      const gate = c.mode === 'gateUp';
      const [N, K] = gate ? [c.F, c.d] : [c.d, c.F];
      const idx = Int32Array.from({ length: A }, () => Math.floor(r() * c.E));
      const x = randF32((gate ? c.T : A) * K, seed + 1);
      const cw = randF32(A, seed + 2, 0, 1);
      // weights: stored as wDtype on the device, their exact values (read back as f32) feed the oracle
      const weight = async (n: number, s: number) => {
        const t = cast(Tensor.from(b, randF32(n, s), [n]), wDtype);
        return { t, v: Float64Array.from((await cast(t, 'f32').data()) as Float32Array) };
      };
      const ws = gate ? [await weight(c.E * N * K, seed + 3), await weight(c.E * N * K, seed + 4)] : [await weight(c.E * N * K, seed + 3)];
      const sh = c.Fs === 0 || c.mode === 'down' ? [] : gate ? [await weight(c.Fs * K, seed + 5), await weight(c.Fs * K, seed + 6)] : [await weight(N * c.Fs, seed + 5)];
      const actS = randF32(c.T * c.Fs, seed + 7);
      const p: MoeGatherMatvecParams = { mode: c.mode, A, k: c.k, N, K, wDtype, shared: c.mode === 'down' ? 0 : c.Fs };
      const outLen = gate ? A * N : c.mode === 'down' ? A * N : c.T * N;
      const out = Tensor.empty(b, [outLen]);
      const outS = gate && c.Fs ? Tensor.empty(b, [c.T * c.Fs]) : null;
      const args = gate
        ? [Tensor.from(b, x, [x.length]).arg(), Tensor.from(b, idx, [A], 'i32').arg(), ...ws.map((w) => w.t.arg()), ...sh.map((w) => w.t.arg()), out.arg(), ...(outS ? [outS.arg()] : [])]
        : c.mode === 'down'
          ? [Tensor.from(b, x, [x.length]).arg(), Tensor.from(b, idx, [A], 'i32').arg(), ws[0].t.arg(), out.arg()]
          : [Tensor.from(b, x, [x.length]).arg(), Tensor.from(b, idx, [A], 'i32').arg(), ws[0].t.arg(), Tensor.from(b, cw, [A]).arg(), ...(c.Fs ? [Tensor.from(b, actS, [actS.length]).arg(), sh[0].t.arg()] : []), out.arg()];
      b.run(moeGatherMatvec, p, args);
      // float64 oracle over the same values (f32 weight arrays of the rounded values)
      const want = new Float64Array(outLen);
      const wantS = new Float64Array(c.T * c.Fs);
      const refArrays = gate
        ? [x, idx, ...ws.map((w) => w.v), ...sh.map((w) => w.v), want, ...(c.Fs ? [wantS] : [])]
        : c.mode === 'down'
          ? [x, idx, ws[0].v, want]
          : [x, idx, ws[0].v, cw, ...(c.Fs ? [actS, sh[0].v] : []), want];
      moeGatherMatvecRef(refArrays, { ...p, wDtype: 'f32' });
      // each of a row's 64 lanes adds ≤ ⌈K/64⌉ words of ≤ 8 values, then a 6-level tree: that many
      // roundings of the terms' absolute sum (tight enough that one misread word fails)
      const abs = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);
      const lanes = (len: number) => Math.ceil(len / 64) + 8 + 6;
      const sumAbs = new Float64Array(outLen);
      const sumAbsS = new Float64Array(c.T * c.Fs);
      const wAbs = ws.map((w) => abs(w.v));
      const sAbs = sh.map((w) => abs(w.v));
      if (gate) {
        // silu(g)·v moves by ≤ 1.1·|v|·δg + |silu(g)|·δv: bound δg, δv through the 'down' shape of each sum
        const dotAbs = (w: Float64Array, row: number, xo: number) => {
          let m = 0;
          for (let q = 0; q < K; q++) m += Math.abs(x[xo + q]) * w[row * K + q];
          return m;
        };
        const dot = (w: Float64Array, row: number, xo: number) => {
          let m = 0;
          for (let q = 0; q < K; q++) m += x[xo + q] * w[row * K + q];
          return m;
        };
        const bound = (wg: Float64Array, wu: Float64Array, ag: Float64Array, au: Float64Array, row: number, xo: number) => {
          const [g, v] = [dot(wg, row, xo), dot(wu, row, xo)];
          return 1.1 * Math.abs(v) * dotAbs(ag, row, xo) + Math.abs(g / (1 + Math.exp(-g))) * dotAbs(au, row, xo);
        };
        for (let a = 0; a < A; a++) for (let n = 0; n < N; n++) sumAbs[a * N + n] = bound(ws[0].v, ws[1].v, wAbs[0], wAbs[1], idx[a] * N + n, Math.floor(a / c.k) * K);
        if (sh.length) for (let t = 0; t < c.T; t++) for (let n = 0; n < c.Fs; n++) sumAbsS[t * c.Fs + n] = bound(sh[0].v, sh[1].v, sAbs[0], sAbs[1], n, t * K);
      } else {
        const absArrays = c.mode === 'down' ? [abs(x), idx, wAbs[0], sumAbs] : [abs(x), idx, wAbs[0], abs(cw), ...(c.Fs ? [abs(actS), sAbs[0]] : []), sumAbs];
        moeGatherMatvecRef(absArrays, { ...p, wDtype: 'f32' });
      }
      const tol = (m: Float64Array, len: number) => (i: number) => reductionTol(lanes(len), m[i], 2) + 1e-7 * Math.abs(want[i]);
      const tolS = (i: number) => reductionTol(lanes(K), sumAbsS[i], 2);
      expectClose(await out.data(), want, tol(sumAbs, Math.max(K, c.Fs)), `seed ${seed}`);
      if (outS) expectClose(await outS.data(), wantS, tolS, `seed ${seed} shared`);
    });
  }
});

// gateUp choosing the experts itself (`route`): idx and the combine weights against moeRouterRef on
// the same f32 logits (exact ties frequent), act bit-equal to the kernel given those idx
const ROUTED: { T: number; k: number; E: number; d: number; F: number; Fs: number; nGroup: number; topkGroup: number; scoreFn: 'sigmoid' | 'softmax'; norm: boolean; wDtype: 'f32' | 'bf16' }[] = [
  { T: 1, k: 4, E: 64, d: 64, F: 48, Fs: 40, nGroup: 1, topkGroup: 1, scoreFn: 'sigmoid', norm: true, wDtype: 'f32' },
  { T: 3, k: 2, E: 9, d: 13, F: 7, Fs: 0, nGroup: 3, topkGroup: 2, scoreFn: 'softmax', norm: false, wDtype: 'f32' },
  { T: 2, k: 6, E: 256, d: 24, F: 9, Fs: 5, nGroup: 8, topkGroup: 4, scoreFn: 'sigmoid', norm: true, wDtype: 'bf16' },
  { T: 1, k: 1, E: 1, d: 8, F: 3, Fs: 0, nGroup: 1, topkGroup: 1, scoreFn: 'sigmoid', norm: false, wDtype: 'bf16' },
];

describe.each(testBackends())('moeGatherMatvec gateUp with route on %s', (_name, make) => {
  // the picks on subgroups (the default where the adapter has them: two reductions a pick, or the
  // shuffle butterfly) and by the workgroup tree
  it.each([...ROUTED, ...ROUTED.map((c) => ({ ...c, subgroupPicks: 'butterfly' as const })), ...ROUTED.map((c) => ({ ...c, selectOnSubgroups: false }))])('%o', async (c) => {
    const b = await make();
    const seed = freshSeed();
    const r = rng(seed);
    const A = c.T * c.k;
    const logits = Float32Array.from({ length: c.T * c.E }, () => Math.floor(r() * 96 - 48) / 16);
    const bias = Float32Array.from({ length: c.E }, () => [0, 0.25, -0.25][Math.floor(r() * 3)]);
    const sgSel = { ...('selectOnSubgroups' in c ? { selectOnSubgroups: c.selectOnSubgroups === true } : {}), ...('subgroupPicks' in c ? { subgroupPicks: c.subgroupPicks as 'butterfly' } : {}) };
    const route = { E: c.E, nGroup: c.nGroup, topkGroup: c.topkGroup, scoreFn: c.scoreFn, norm: c.norm, scale: 2.5, ...sgSel };
    const wantIdx = new Int32Array(A);
    const wantW = new Float32Array(A);
    moeRouterRef([logits, bias, new Float32Array(c.T * c.E), wantIdx, wantW], { ...route, T: c.T, k: c.k });
    const x = Tensor.from(b, randF32(c.T * c.d, seed + 1), [c.T * c.d]);
    const w = (n: number, s: number) => cast(Tensor.from(b, randF32(n, s), [n]), c.wDtype);
    const ws = [w(c.E * c.F * c.d, seed + 3), w(c.E * c.F * c.d, seed + 4)];
    const sh = c.Fs ? [w(c.Fs * c.d, seed + 5), w(c.Fs * c.d, seed + 6)] : [];
    const p: MoeGatherMatvecParams = { mode: 'gateUp', A, k: c.k, N: c.F, K: c.d, wDtype: c.wDtype, shared: c.Fs };
    const run = (idx: Tensor, extra: Tensor[], q: MoeGatherMatvecParams) => {
      const out = Tensor.empty(b, [A * c.F]);
      const outS = c.Fs ? Tensor.empty(b, [c.T * c.Fs]) : null;
      b.run(moeGatherMatvec, q, [x.arg(), idx.arg(), ...ws.map((t) => t.arg()), ...sh.map((t) => t.arg()), out.arg(), ...(outS ? [outS.arg()] : []), ...extra.map((t) => t.arg())]);
      return { out, outS };
    };
    const idx = Tensor.empty(b, [A], 'i32');
    const cw = Tensor.empty(b, [A]);
    const got = run(idx, [Tensor.from(b, logits, [c.T, c.E]), Tensor.from(b, bias, [c.E]), cw], { ...p, route });
    expect(Array.from(await idx.data()), `idx seed=${seed}`).toEqual(Array.from(wantIdx));
    expectClose(await cw.data(), wantW, (i) => 1e-6 * Math.abs(wantW[i]), `weights seed=${seed}`);
    const plain = run(Tensor.from(b, wantIdx, [A], 'i32'), [], p);
    expect(Array.from(await got.out.data()), `act seed=${seed}`).toEqual(Array.from(await plain.out.data()));
    if (got.outS && plain.outS) expect(Array.from(await got.outS.data()), `shared act seed=${seed}`).toEqual(Array.from(await plain.outS.data()));
  });
});
