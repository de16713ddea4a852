/**
 * moeGroupedGemm (the backward's grouped GEMMs, and the forward's gate/up pre-activations): for each
 * sorted row r of expert e (offsets from moeDispatch), with A's row gathered by `aSrc`:
 *   out_i[dst(r), n] (+)= Σ_c A[src(r), c] · B_i[e](c, n),   i < nB (1 or 2 weights, one output each)
 * B layout 'nk': B[e] stored [N, K] (nn.Linear, B(c, n) = W[e, n, c]); 'kn': stored [K, N].
 * Row maps: 'token' → perm[r] / k (rows of x), 'assign' → perm[r] (assignment order t·k + j),
 * 'sorted' → r. Outputs are written at dst(r) = r ('sorted') or perm[r] ('assign'); with `swiglu`,
 * the single output is silu(out_0) ⊙ out_1.
 */
import type { FloatArray, TypedArray } from '../core/dtype.js';
import { weightReader } from './moeGroupedMatmul.ref.js';

export type MoeRowMap = 'token' | 'assign' | 'sorted';

export interface MoeGroupedGemmParams {
  /** how the A row of sorted row r is found */
  aSrc: MoeRowMap;
  /** where out row r goes ('token' is not allowed) */
  outRow: 'sorted' | 'assign';
  bLayout: 'nk' | 'kn';
  /** weights (and outputs): 2 = gate and up sharing the A rows */
  nB: 1 | 2;
  /** add into the outputs instead of overwriting */
  accumulate: boolean;
  /** nB = 2 only: one output silu(A·B_0) ⊙ (A·B_1) (the forward's gate/up) instead of two */
  swiglu?: boolean;
  /** two weights: 128-row tiles of 64 columns of each (default), or 64 (the 64×128 tiles of v2) */
  tile?: 64 | 128;
  /**
   * 128-row tiles: threads over the 16×16 thread tiles by rows (`rows`, v3/v4) or each 32-thread
   * group on 4 × 8 of them (`warps`, v5's default, the dense matmul's v3 layout)
   */
  threads?: 'rows' | 'warps';
  /** 128-row tiles: k depth of a workgroup-memory stage, 4 (v5's default) or 8 (v3/v4) */
  bk?: 4 | 8;
  k: number;
  E: number;
  /** assignments (sorted rows) */
  A: number;
  N: number;
  K: number;
  wDtype: 'f32' | 'f16' | 'bf16';
}

/** Source row of sorted row r. */
export function moeRow(map: MoeRowMap, perm: ArrayLike<number>, r: number, k: number): number {
  if (map === 'sorted') return r;
  return map === 'assign' ? perm[r] : Math.floor(perm[r] / k);
}

/** arrays: A, perm [A], offsets [E+1], tileStart [E+1], B_0 (, B_1) → out_0 (, out_1). */
export function moeGroupedGemmRef(arrays: TypedArray[], p: MoeGroupedGemmParams): void {
  const { N, K } = p;
  const [a, perm, offsets] = arrays;
  const ws = Array.from({ length: p.nB }, (_, i) => weightReader(arrays[4 + i], p.wDtype));
  const outs = Array.from({ length: p.swiglu ? 1 : p.nB }, (_, i) => arrays[4 + p.nB + i] as FloatArray);
  const acc = new Float64Array(p.nB);
  for (let e = 0; e < p.E; e++) {
    for (let r = offsets[e]; r < offsets[e + 1]; r++) {
      const ao = moeRow(p.aSrc, perm, r, p.k) * K;
      const oo = (p.outRow === 'sorted' ? r : perm[r]) * N;
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < p.nB; i++) {
          let v = 0;
          for (let c = 0; c < K; c++) v += a[ao + c] * ws[i](p.bLayout === 'nk' ? (e * N + n) * K + c : (e * K + c) * N + n);
          acc[i] = v;
        }
        const vals = p.swiglu ? [(acc[0] / (1 + Math.exp(-acc[0]))) * acc[1]] : Array.from(acc);
        vals.forEach((v, i) => {
          outs[i][oo + n] = p.accumulate ? outs[i][oo + n] + v : v;
        });
      }
    }
  }
}
