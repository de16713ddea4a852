/**
 * Backward of HSA chunk attention (hsaChunkAttention.ref.ts). With Ō_j = Σ_s p_s V[c·S+s, g]:
 *   dw[t,g,j]  = Σ_{h in group g} dout[t,h]·Ō_j                 (for every slot, also w = 0)
 *   dV[c·S+s]  += w·p_s·dout[t,h]                               (summed over all queries selecting c)
 *   dz_s = p_s(dp_s − Σ p·dp), dp_s = w·dout[t,h]·V[c·S+s]      (the same form for smN = 0 and 1)
 *   dq[t,h] += scale·Σ_s dz_s K[c·S+s],  dK[c·S+s] += scale·dz_s q[t,h]
 * Layouts as the forward: q, dout, dq [T, Hq, D]; memK, memV, dK, dV [C·S, Hk, D]; idx, w, dw [T, Hk, k].
 * v1 plain loops, float64 sums.
 */
import type { FloatArray } from '../core/dtype.js';
import { axpy, dot } from './common.js';
import { checkChunkAttention, chunkProbs, type HsaChunkAttentionParams } from './hsaChunkAttention.ref.js';

export type HsaChunkAttentionBackwardArrays = [
  q: FloatArray,
  memK: FloatArray,
  memV: FloatArray,
  idx: Int32Array,
  w: FloatArray,
  dout: FloatArray,
  dq: FloatArray,
  dK: FloatArray,
  dV: FloatArray,
  dw: FloatArray,
];

/** Gradients of one (t, h, slot) term w·Ō into dq, dK, dV; returns dout·Ō (for dw). */
function slotBackward(a: HsaChunkAttentionBackwardArrays, p: HsaChunkAttentionParams, at: { qo: number; g: number; c: number; w: number }, pr: Float64Array, dp: Float64Array): number {
  const [q, memK, memV, , , dout, dq, dK, dV] = a;
  const { qo, g, c, w } = at;
  const scale = p.scale ?? 1 / Math.sqrt(p.d);
  chunkProbs(q, qo, memK, c, g, p, pr);
  let dwj = 0;
  let delta = 0;
  for (let s = 0; s < p.s; s++) {
    const kv = ((c * p.s + s) * p.hk + g) * p.d;
    const dov = dot(dout, qo, memV, kv, p.d);
    dwj += pr[s] * dov;
    dp[s] = w * dov;
    delta += pr[s] * dp[s];
    if (w !== 0) axpy(w * pr[s], dout, qo, dV, kv, p.d);
  }
  if (w === 0) return dwj;
  for (let s = 0; s < p.s; s++) {
    const kv = ((c * p.s + s) * p.hk + g) * p.d;
    const dz = pr[s] * (dp[s] - delta) * scale;
    axpy(dz, memK, kv, dq, qo, p.d);
    axpy(dz, q, qo, dK, kv, p.d);
  }
  return dwj;
}

/** hsaChunkAttentionBackward: [q, memK, memV, idx, w, dout, dq, dK, dV, dw]; gradients overwritten. */
export function hsaChunkAttentionBackwardRef(a: HsaChunkAttentionBackwardArrays, p: HsaChunkAttentionParams): void {
  const [q, memK, memV, idx, w, dout, dq, dK, dV, dw] = a;
  const ratio = checkChunkAttention('hsaChunkAttentionBackward', p, { q, dout, dq }, { memK, memV, dK, dV }, { idx, w, dw });
  dq.fill(0);
  dK.fill(0);
  dV.fill(0);
  dw.fill(0);
  const pr = new Float64Array(p.s);
  const dp = new Float64Array(p.s);
  for (let t = 0; t < p.t; t++) {
    for (let h = 0; h < p.hq; h++) {
      const g = Math.floor(h / ratio);
      const qo = (t * p.hq + h) * p.d;
      for (let j = 0; j < p.k; j++) {
        const slot = (t * p.hk + g) * p.k + j;
        dw[slot] += slotBackward(a, p, { qo, g, c: idx[slot], w: w[slot] }, pr, dp);
      }
    }
  }
}
