/**
 * matmulRef (v2, blocked) against v1, the naive loop kept here as the oracle: every output bit must
 * match, for every trans / B dtype / array type / batch stride / ldc combination on awkward shapes.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../test-utils/rng.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, type FloatArray, type TypedArray } from '../core/dtype.js';
import { type MatmulParams, matmulRef } from './matmul.ref.js';

/** v1: for m, k, n: acc[n] += a·B (B read through a closure), acc in C's array type. */
function matmulNaive([a, b, c]: TypedArray[], p: MatmulParams): void {
  const { M, N, K } = p;
  const getB = p.bDtype === 'f32' ? (i: number) => b[i] : p.bDtype === 'bf16' ? (i: number) => bf16ToF32(b[i]) : (i: number) => f16ToF32(b[i]);
  const out = c as FloatArray;
  const acc = new (out.constructor as Float64ArrayConstructor)(N);
  for (let bi = 0; bi < p.batch; bi++) {
    const [oa, ob, oc] = [bi * p.strideA, bi * p.strideB, bi * p.strideC];
    for (let m = 0; m < M; m++) {
      acc.fill(0);
      for (let k = 0; k < K; k++) {
        const av = a[oa + (p.transA ? k * M + m : m * K + k)];
        if (p.transB) for (let n = 0; n < N; n++) acc[n] += av * getB(ob + n * K + k);
        else for (let n = 0; n < N; n++) acc[n] += av * getB(ob + k * N + n);
      }
      out.set(acc, oc + m * (p.ldc ?? N));
    }
  }
}

/** Deterministic uniform [−1, 1). */
function rng(seed: number): () => number {
  const u = mulberry32(seed);
  return () => u() * 2 - 1;
}

type Kind = 'f32' | 'f64';
function make(kind: Kind, n: number, r: () => number): FloatArray {
  const xs = Array.from({ length: n }, () => r() * 3);
  return kind === 'f32' ? Float32Array.from(xs) : Float64Array.from(xs);
}

function makeB(dtype: MatmulParams['bDtype'], kind: Kind, n: number, r: () => number): TypedArray {
  if (dtype === 'f32') return make(kind, n, r);
  const enc = dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  return Uint16Array.from({ length: n }, () => enc(r() * 3));
}

/** First index where the two arrays differ (Object.is: −0 ≠ 0), or −1. */
function firstDiff(x: FloatArray, y: FloatArray): number {
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return i;
  return x.length === y.length ? -1 : x.length;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 5],
  [3, 1, 9],
  [4, 2, 0],
  [5, 3, 17],
  [9, 11, 33],
  [13, 6, 70],
  [4, 65, 300],
  [6, 130, 129],
];

describe('matmulRef v2 = v1 bit for bit', () => {
  let seed = 1;
  for (const [M, N, K] of SHAPES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const bDtype of ['f32', 'bf16', 'f16'] as const) {
          it(`M ${M} N ${N} K ${K} transA ${transA} transB ${transB} B ${bDtype}`, () => {
            for (const [ak, bk, ck] of [['f32', 'f32', 'f32'], ['f64', 'f64', 'f64'], ['f32', 'f32', 'f64'], ['f64', 'f32', 'f32']] as Kind[][]) {
              for (const { batch, bcast, pad } of [{ batch: 1, bcast: false, pad: 0 }, { batch: 3, bcast: true, pad: 3 }, { batch: 2, bcast: false, pad: 1 }]) {
                const r = rng(seed++);
                const ldc = N + pad;
                const p: MatmulParams = { batch, M, N, K, transA, transB, bDtype, strideA: M * K + 2, strideB: bcast ? 0 : N * K + 1, strideC: M * ldc + 5, ldc };
                const a = make(ak, batch * p.strideA, r);
                const b = makeB(bDtype, bk, Math.max(1, batch * p.strideB + N * K), r);
                const c0 = make(ck, batch * p.strideC, r);
                const c1 = c0.slice();
                matmulNaive([a, b, c0], p);
                matmulRef([a, b, c1], p);
                expect(firstDiff(c1, c0)).toBe(-1);
              }
            }
          });
        }
      }
    }
  }

  it('default ldc, large values and signed zeros', () => {
    const p: MatmulParams = { batch: 1, M: 5, N: 3, K: 4, transA: false, transB: true, bDtype: 'f32', strideA: 0, strideB: 0, strideC: 0 };
    const a = Float32Array.from([-0, 0, -0, -0, 3e38, 3e38, -3e38, 1, 1e-40, 1e-40, 1e-40, 1e-40, ...Array(8).fill(0.1)]);
    const b = Float32Array.from([-0, -0, -0, -0, 2, 2, 2, 2, 1e-3, -1e-3, 7, 1]);
    const [c0, c1] = [new Float32Array(15), new Float32Array(15)];
    matmulNaive([a, b, c0], p);
    matmulRef([a, b, c1], p);
    expect(firstDiff(c1, c0)).toBe(-1);
  });
});
