/**
 * moeGroupedMatmulForward: every expert's rows (from moeDispatch) times that expert's weights, with
 * weights stacked [E, N, K] (nn.Linear layout per expert), f32 or packed f16/bf16.
 *   gateUp: row r of expert e (token t = perm[r] / k): act[r, n] = silu(x_t·Wg[e, n]) · (x_t·Wu[e, n])
 *   down:   y[perm[r], n] = act[r]·Wd[e, n]   (written back in assignment order t·k + j)
 */
import { bf16ToF32, f16ToF32, type FloatArray, type TypedArray } from '../core/dtype.js';

/** Rows per grouped GEMM tile; the dispatch's tile schedule counts in these. */
export const MOE_TILE_M = 64;

export interface MoeGroupedMatmulParams {
  mode: 'gateUp' | 'down';
  /** tokens (rows of x in gateUp) */
  T: number;
  /** experts per token */
  k: number;
  E: number;
  /** assignments T·k */
  A: number;
  /** output features per expert */
  N: number;
  /** input features */
  K: number;
  wDtype: 'f32' | 'f16' | 'bf16';
}

export function weightReader(w: TypedArray, dtype: MoeGroupedMatmulParams['wDtype']): (i: number) => number {
  if (dtype === 'f32') return (i) => w[i];
  const conv = dtype === 'bf16' ? bf16ToF32 : f16ToF32;
  return (i) => conv(w[i]);
}

/** Σ_c a[ao + c] · w(wo + c) over K terms. */
function dot(a: TypedArray, ao: number, w: (i: number) => number, wo: number, K: number): number {
  let s = 0;
  for (let c = 0; c < K; c++) s += a[ao + c] * w(wo + c);
  return s;
}

/**
 * gateUp arrays: x [T,K], perm [A], offsets [E+1], tileStart [E+1], Wg, Wu → act [A,N].
 * down arrays:   act [A,K], perm, offsets, tileStart, Wd → y [A,N].
 */
export function moeGroupedMatmulRef(arrays: TypedArray[], p: MoeGroupedMatmulParams): void {
  const { N, K } = p;
  const [a, perm, offsets] = arrays;
  const w0 = weightReader(arrays[4], p.wDtype);
  const w1 = p.mode === 'gateUp' ? weightReader(arrays[5], p.wDtype) : w0;
  const out = arrays[p.mode === 'gateUp' ? 6 : 5] as FloatArray;
  for (let e = 0; e < p.E; e++) {
    for (let r = offsets[e]; r < offsets[e + 1]; r++) {
      for (let n = 0; n < N; n++) {
        const wo = (e * N + n) * K;
        if (p.mode === 'down') {
          out[perm[r] * N + n] = dot(a, r * K, w0, wo, K);
          continue;
        }
        const xo = Math.floor(perm[r] / p.k) * K;
        const g = dot(a, xo, w0, wo, K);
        out[r * N + n] = (g / (1 + Math.exp(-g))) * dot(a, xo, w1, wo, K);
      }
    }
  }
}
