// The grouped kernels over tile edges: moeGroupedGemm in each row map / weight layout / epilogue and
// moeWeightGrad, with experts spanning several 64-row tiles, N and M over one column tile, an idle
// expert, against float64 oracles over the dispatch's own perm and offsets (dispatch is tested apart).
import { type MoeGroupedGemmParams, type MoeRowMap, moeGroupedGemm, moeWeightGrad } from '@hsa/kernels';
import { Tensor } from '@hsa/tensor';
import { expectClose, freshSeed, randF32, reductionTol, rng, testBackends } from '@hsa/tensor/test-utils';
import { describe, it } from 'vitest';
import { dispatch } from './ops.js';

const [T, k, E] = [150, 3, 4]; // 450 assignments over experts 0..2 (~150 rows: 3 row tiles each); expert 3 idle
const A = T * k;
const src = (map: MoeRowMap, perm: ArrayLike<number>, r: number) => (map === 'sorted' ? r : map === 'assign' ? perm[r] : Math.floor(perm[r] / k));

type Case = Pick<MoeGroupedGemmParams, 'aSrc' | 'outRow' | 'bLayout' | 'nB' | 'accumulate' | 'swiglu' | 'tile' | 'threads' | 'bk'> & { N: number; K: number };
const CASES: [string, Case][] = [
  ['gate/up: x by token, [N,K] weights, two outputs', { aSrc: 'token', outRow: 'sorted', bLayout: 'nk', nB: 2, accumulate: false, N: 137, K: 50 }],
  ['gate/up fused SwiGLU', { aSrc: 'token', outRow: 'sorted', bLayout: 'nk', nB: 2, swiglu: true, accumulate: false, N: 70, K: 33 }],
  ['two [K,N] weights by assignment, accumulating', { aSrc: 'assign', outRow: 'assign', bLayout: 'kn', nB: 2, accumulate: true, N: 65, K: 19 }],
  ['gate/up, 64-row tiles (v2)', { aSrc: 'token', outRow: 'sorted', bLayout: 'nk', nB: 2, accumulate: false, N: 137, K: 50, tile: 64 }],
  ['gate/up fused SwiGLU, 64-row tiles (v2)', { aSrc: 'token', outRow: 'sorted', bLayout: 'nk', nB: 2, swiglu: true, accumulate: false, N: 70, K: 33, tile: 64 }],
  ['dact: dy by assignment, [K,N] weights', { aSrc: 'assign', outRow: 'sorted', bLayout: 'kn', nB: 1, accumulate: false, N: 131, K: 29 }],
  ['dx: sorted rows into assignment order, accumulating', { aSrc: 'sorted', outRow: 'assign', bLayout: 'kn', nB: 1, accumulate: true, N: 140, K: 21 }],
  // the 128-row tile's other thread layout and stage depth (v3 / v4: rows, BK 8)
  ['gate/up fused SwiGLU, v4 (rows, BK 8)', { aSrc: 'token', outRow: 'sorted', bLayout: 'nk', nB: 2, swiglu: true, accumulate: false, N: 70, K: 33, threads: 'rows', bk: 8 }],
  ['gate/up fused SwiGLU, rows, BK 4', { aSrc: 'token', outRow: 'sorted', bLayout: 'nk', nB: 2, swiglu: true, accumulate: false, N: 70, K: 33, threads: 'rows', bk: 4 }],
  ['down: [N,K] weights, v3 (rows, BK 8)', { aSrc: 'assign', outRow: 'sorted', bLayout: 'nk', nB: 1, accumulate: false, N: 131, K: 29, threads: 'rows', bk: 8 }],
  ['dx, v3 (rows, BK 8)', { aSrc: 'sorted', outRow: 'assign', bLayout: 'kn', nB: 1, accumulate: true, N: 140, K: 21, threads: 'rows', bk: 8 }],
];

describe.each(testBackends())('grouped MoE kernels on %s', (_name, make) => {
  async function setup(seed: number) {
    const b = await make();
    const r = rng(seed);
    const idx = Array.from({ length: A }, () => Math.floor(r() * (E - 1)));
    const d = dispatch(Tensor.from(b, idx, [T, k], 'i32'), E);
    const [perm, offsets] = [await d.perm.data(), await d.offsets.data()];
    return { b, d, perm, offsets };
  }

  it.each(CASES)('moeGroupedGemm %s', async (_l, c) => {
    const seed = freshSeed();
    const { b, d, perm, offsets } = await setup(seed);
    const rows = c.aSrc === 'token' ? T : A;
    const a = randF32(rows * c.K, seed + 1);
    const ws = [randF32(E * c.N * c.K, seed + 2), randF32(E * c.N * c.K, seed + 3)].slice(0, c.nB);
    const nOut = c.swiglu ? 1 : c.nB;
    const init = randF32(A * c.N, seed + 4);
    const outs = Array.from({ length: nOut }, () => (c.accumulate ? Tensor.from(b, init, [A, c.N]) : Tensor.empty(b, [A, c.N])));
    const p: MoeGroupedGemmParams = { ...c, k, E, A, wDtype: 'f32' };
    const wt = ws.map((w) => Tensor.from(b, w, [E * c.N * c.K]));
    b.run(moeGroupedGemm, p, [Tensor.from(b, a, [rows, c.K]).arg(), d.perm.arg(), d.offsets.arg(), d.tileStart.arg(), ...wt.map((w) => w.arg()), ...outs.map((o) => o.arg())]);
    const want = Array.from({ length: nOut }, () => (c.accumulate ? Float64Array.from(init) : new Float64Array(A * c.N)));
    const tol = new Float64Array(A * c.N);
    for (let e = 0; e < E; e++) {
      for (let r = offsets[e]; r < offsets[e + 1]; r++) {
        const ao = src(c.aSrc, perm, r) * c.K;
        const oo = (c.outRow === 'sorted' ? r : perm[r]) * c.N;
        for (let n = 0; n < c.N; n++) {
          const dots = ws.map((w) => {
            let s = 0;
            let m = 0;
            for (let q = 0; q < c.K; q++) {
              const t = a[ao + q] * w[c.bLayout === 'nk' ? (e * c.N + n) * c.K + q : (e * c.K + q) * c.N + n];
              s += t;
              m += Math.abs(t);
            }
            tol[oo + n] = Math.max(tol[oo + n], reductionTol(c.K, m, 4) * (c.swiglu ? 4 * (1 + Math.abs(s)) : 1));
            return s;
          });
          if (c.swiglu) want[0][oo + n] = (dots[0] / (1 + Math.exp(-dots[0]))) * dots[1];
          else dots.forEach((v, i) => { want[i][oo + n] += v; });
        }
      }
    }
    for (let i = 0; i < nOut; i++) expectClose(await outs[i].data(), want[i], (j) => tol[j] + 4e-7 * Math.abs(want[i][j]), `seed ${seed} out ${i}`);
  });

  it.each([
    ['down: dy by assignment × act sorted', 'assign', 'sorted', 150, 70],
    ['gate/up: dg sorted × x by token', 'sorted', 'token', 66, 200],
  ] as [string, MoeRowMap, MoeRowMap, number, number][])('moeWeightGrad %s', async (_l, pSrc, qSrc, N, M) => {
    const seed = freshSeed();
    const { b, d, perm, offsets } = await setup(seed);
    const rowsOf = (m: MoeRowMap) => (m === 'token' ? T : A);
    const P = randF32(rowsOf(pSrc) * N, seed + 5);
    const Q = randF32(rowsOf(qSrc) * M, seed + 6);
    const out = Tensor.empty(b, [E, N, M]);
    b.run(moeWeightGrad, { pSrc, qSrc, accumulate: false, k, E, N, M }, [Tensor.from(b, P, [rowsOf(pSrc), N]).arg(), Tensor.from(b, Q, [rowsOf(qSrc), M]).arg(), d.perm.arg(), d.offsets.arg(), out.arg()]);
    const want = new Float64Array(E * N * M);
    const tol = new Float64Array(E * N * M);
    for (let e = 0; e < E; e++) {
      for (let r = offsets[e]; r < offsets[e + 1]; r++) {
        const [po, qo] = [src(pSrc, perm, r) * N, src(qSrc, perm, r) * M];
        for (let n = 0; n < N; n++) {
          for (let m = 0; m < M; m++) {
            want[(e * N + n) * M + m] += P[po + n] * Q[qo + m];
            tol[(e * N + n) * M + m] += Math.abs(P[po + n] * Q[qo + m]);
          }
        }
      }
    }
    // summed over the expert's rows (≤ 450) in order: the recursive-summation bound
    expectClose(await out.data(), want, (j) => reductionTol(A, tol[j], 2) + 1e-30, `seed ${seed}`);
  });
});
