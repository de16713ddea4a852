/**
 * HSA chunk attention (reference-model.md §3.7), per batch element. For token t, query head h
 * (KV head g = floor(h / (Hq/Hk))) and slot j holding chunk c = idx[t,g,j]:
 *   z_s = q[t,h]·K[c·S+s, g]·scale (s < S, no mask, NoPE);  p_s = e^{z_s} / (smN + Σ_s' e^{z_s'})
 *   out[t,h] = Σ_j w[t,g,j] · Σ_s p_s V[c·S+s, g]          (smN = 1: softmax-off-by-one)
 * Any Hq:Hk ratio. Slots with w = 0 (invalid, masked) contribute nothing and are skipped.
 * Layouts, row-major: q, out, dq [T, Hq, D]; memK, memV, dK, dV [C·S, Hk, D] (C stored chunks of S
 * tokens); idx (Int32, values in [0, C)), w, dw [T, Hk, k].
 * Decode: the same with T = 1 against a memory of any number of chunks.
 * v1 plain loops, float64 sums.
 */
import type { FloatArray } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import { axpy, dot, headRatio, needLength, nonNegativeInt, positiveInt } from './common.js';

export interface HsaChunkAttentionParams {
  /** tokens T */
  t: number;
  hq: number;
  hk: number;
  /** head size D */
  d: number;
  /** chunk size S */
  s: number;
  /** chunks stored in memK/memV */
  chunks: number;
  /** slots per (token, KV head) */
  k: number;
  /** 1 for softmax-off-by-one (enable_softmax1), default 0 */
  smN?: 0 | 1;
  /** default 1/√D */
  scale?: number;
}

type Arrays = Record<string, FloatArray | Int32Array>;

export function checkChunkAttention(op: string, p: HsaChunkAttentionParams, qs: Arrays, mems: Arrays, slots: Arrays): number {
  nonNegativeInt(op, 't', p.t);
  positiveInt(op, 'd', p.d);
  positiveInt(op, 's', p.s);
  nonNegativeInt(op, 'chunks', p.chunks);
  nonNegativeInt(op, 'k', p.k);
  const ratio = headRatio(op, p.hq, p.hk);
  const { t, hq, hk, d, k } = p;
  for (const [n, a] of Object.entries(qs)) needLength(op, n, a, t * hq * d, `[${t}, ${hq}, ${d}]`);
  for (const [n, a] of Object.entries(mems)) needLength(op, n, a, p.chunks * p.s * hk * d, `[${p.chunks * p.s}, ${hk}, ${d}]`);
  for (const [n, a] of Object.entries(slots)) needLength(op, n, a, t * hk * k, `[${t}, ${hk}, ${k}]`);
  const idx = slots.idx;
  for (let i = 0; i < t * hk * k; i++) {
    const c = idx[i];
    if (!Number.isInteger(c) || c < 0 || c >= p.chunks) {
      const [tt, g, j] = [Math.floor(i / (hk * k)), Math.floor(i / k) % hk, i % k];
      throw new ArgumentError(`${op}: idx[${tt}, ${g}, ${j}] = ${c} is outside the ${p.chunks} stored chunks`);
    }
  }
  return ratio;
}

/** Probabilities of query row qo over chunk c's S keys of KV head g into pr[0..S). */
export function chunkProbs(q: FloatArray, qo: number, memK: FloatArray, c: number, g: number, p: HsaChunkAttentionParams, pr: Float64Array): void {
  const scale = p.scale ?? 1 / Math.sqrt(p.d);
  let m = Number.NEGATIVE_INFINITY;
  for (let s = 0; s < p.s; s++) {
    pr[s] = dot(q, qo, memK, ((c * p.s + s) * p.hk + g) * p.d, p.d) * scale;
    m = Math.max(m, pr[s]);
  }
  let sum = (p.smN ?? 0) * Math.exp(-m);
  for (let s = 0; s < p.s; s++) sum += pr[s] = Math.exp(pr[s] - m);
  for (let s = 0; s < p.s; s++) pr[s] /= sum;
}

/** hsaChunkAttentionForward: [q, memK, memV, idx, w, out]. */
export function hsaChunkAttentionForwardRef(
  [q, memK, memV, idx, w, out]: [FloatArray, FloatArray, FloatArray, Int32Array, FloatArray, FloatArray],
  p: HsaChunkAttentionParams,
): void {
  const ratio = checkChunkAttention('hsaChunkAttention', p, { q, out }, { memK, memV }, { idx, w });
  const pr = new Float64Array(p.s);
  const acc = new Float64Array(p.d);
  for (let t = 0; t < p.t; t++) {
    for (let h = 0; h < p.hq; h++) {
      const g = Math.floor(h / ratio);
      const qo = (t * p.hq + h) * p.d;
      acc.fill(0);
      for (let j = 0; j < p.k; j++) {
        const wj = w[(t * p.hk + g) * p.k + j];
        if (wj === 0) continue;
        const c = idx[(t * p.hk + g) * p.k + j];
        chunkProbs(q, qo, memK, c, g, p, pr);
        for (let s = 0; s < p.s; s++) axpy(wj * pr[s], memV, ((c * p.s + s) * p.hk + g) * p.d, acc, 0, p.d);
      }
      out.set(acc, qo);
    }
  }
}

/** hsaChunkAttentionDecode: one token, q/out [Hq, D], idx/w [Hk, k], memory of `chunks` chunks. */
export function hsaChunkAttentionDecodeRef(
  arrays: [FloatArray, FloatArray, FloatArray, Int32Array, FloatArray, FloatArray],
  p: Omit<HsaChunkAttentionParams, 't'>,
): void {
  hsaChunkAttentionForwardRef(arrays, { ...p, t: 1 });
}
