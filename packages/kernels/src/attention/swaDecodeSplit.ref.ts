/**
 * Split-key decode attention (flash-decoding) for one token against the SWA ring: the n visible keys
 * (cached positions first..pos−1 oldest first, then the new token) are cut into splits of B keys;
 * swaDecodeSplitPartial gives each (head, split) its max m, Σexp l and unnormalized output o;
 * swaDecodeSplitMerge combines them: out = Σ_s e^{m_s−M} o_s / Σ_s e^{m_s−M} l_s, lse = M + log(...).
 * Together they compute swaAttentionDecodeRef (without the ring append).
 */
import type { FloatArray } from '../core/dtype.js';

export interface SwaDecodeSplitParams {
  /** absolute position of the new token */
  pos: number;
  hq: number;
  hk: number;
  d: number;
  /** ring length W */
  window: number;
  /** keys per split */
  block: number;
  scale: number;
}

/** Visible keys n and their first position. */
export function decodeKeys(p: SwaDecodeSplitParams): { first: number; n: number; splits: number } {
  const first = Math.max(0, p.pos - p.window);
  const n = p.pos - first + 1;
  return { first, n, splits: Math.ceil(n / p.block) };
}

/** [q [Hq,D], kCache, vCache [W,Hk,D], kNew, vNew [Hk,D], part [Hq, splits, D+2]] (m, l, o[D] per split). */
export function swaDecodeSplitPartialRef([q, kc, vc, kn, vn, part]: FloatArray[], p: SwaDecodeSplitParams): void {
  const { first, n, splits } = decodeKeys(p);
  const row = p.hk * p.d;
  const group = p.hq / p.hk;
  const key = (i: number, cache: FloatArray, fresh: FloatArray, kv: number) => {
    if (i === n - 1) return fresh.subarray(kv * p.d, (kv + 1) * p.d);
    const at = ((first + i) % p.window) * row + kv * p.d;
    return cache.subarray(at, at + p.d);
  };
  for (let h = 0; h < p.hq; h++) {
    const kv = Math.floor(h / group);
    const qh = q.subarray(h * p.d, (h + 1) * p.d);
    for (let s = 0; s < splits; s++) {
      const lo = s * p.block;
      const hi = Math.min(n, lo + p.block);
      const scores: number[] = [];
      for (let i = lo; i < hi; i++) {
        const k = key(i, kc, kn, kv);
        let dot = 0;
        for (let e = 0; e < p.d; e++) dot += qh[e] * k[e];
        scores.push(dot * p.scale);
      }
      const m = Math.max(...scores);
      const out = part.subarray((h * splits + s) * (p.d + 2), (h * splits + s + 1) * (p.d + 2));
      out.fill(0);
      out[0] = m;
      for (let i = lo; i < hi; i++) {
        const w = Math.exp(scores[i - lo] - m);
        out[1] += w;
        const v = key(i, vc, vn, kv);
        for (let e = 0; e < p.d; e++) out[2 + e] += w * v[e];
      }
    }
  }
}

/** [part [Hq, splits, D+2], out [Hq, D], lse [Hq]]. */
export function swaDecodeSplitMergeRef([part, out, lse]: FloatArray[], p: SwaDecodeSplitParams): void {
  const { splits } = decodeKeys(p);
  const w = p.d + 2;
  for (let h = 0; h < p.hq; h++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let s = 0; s < splits; s++) m = Math.max(m, part[(h * splits + s) * w]);
    let l = 0;
    const o = new Float64Array(p.d);
    for (let s = 0; s < splits; s++) {
      const base = (h * splits + s) * w;
      const f = Math.exp(part[base] - m);
      l += f * part[base + 1];
      for (let e = 0; e < p.d; e++) o[e] += f * part[base + 2 + e];
    }
    for (let e = 0; e < p.d; e++) out[h * p.d + e] = o[e] / l;
    lse[h] = m + Math.log(l);
  }
}
