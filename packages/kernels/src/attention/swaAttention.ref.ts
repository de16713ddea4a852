/**
 * Sliding-window attention (reference-model.md §3.2), per batch element:
 *   out[t,h] = Σ_{j=max(0,t−W)}^{t} softmax_j(q[t,h]·k[j,g]/√d) v[j,g],  g = floor(h / (hq/hk))
 * (window + 1 keys, self included; with segLen, j also ≥ the start of t's segment: packed
 * sequences). Inputs are already normed and RoPE'd.
 * Layouts, row-major: q, out, dq [T, Hq, D]; k, v, dk, dv [T, Hk, D]; lse [T, Hq].
 * Decode: one query at absolute position `pos` against a ring buffer kCache, vCache [W, Hk, D] that
 * holds position p at slot p mod W (positions max(0, pos−W)..pos−1), plus its own kNew, vNew [Hk, D];
 * afterwards kNew, vNew are written to slot pos mod W, ready for pos + 1.
 * v1 plain loops, float64 sums.
 */
import type { FloatArray } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import { headRatio, needLength, nonNegativeInt, positiveInt } from './common.js';
import { type DenseDims, denseAttentionBackward, denseAttentionForward } from './denseAttention.js';

export interface SwaParams {
  /** sequence length T */
  t: number;
  hq: number;
  hk: number;
  /** head size D */
  d: number;
  /** window W: keys t−W..t are visible */
  window: number;
  /** score scale, default 1/√D */
  scale?: number;
  /**
   * Tokens per segment (default T): the rows are independent sequences of segLen tokens packed one
   * after another (the last may be shorter), and a token sees only keys of its own segment.
   */
  segLen?: number;
  /**
   * First query row computed (default 0; forward reference only): q, out and lse hold rows
   * qStart..T−1, i.e. [T − qStart, Hq, D], so a segment after W history keys skips the history's rows.
   */
  qStart?: number;
}

/** Guards; `queryRows` are [T, Hq, D] arrays, `keyRows` [T, Hk, D] arrays, by name. */
function dims(op: string, p: SwaParams, queryRows: Record<string, FloatArray>, keyRows: Record<string, FloatArray>): DenseDims {
  positiveInt(op, 't', p.t);
  positiveInt(op, 'd', p.d);
  nonNegativeInt(op, 'window', p.window);
  if (p.segLen !== undefined) positiveInt(op, 'segLen', p.segLen);
  headRatio(op, p.hq, p.hk);
  for (const [n, a] of Object.entries(queryRows)) needLength(op, n, a, p.t * p.hq * p.d, `[${p.t}, ${p.hq}, ${p.d}]`);
  for (const [n, a] of Object.entries(keyRows)) needLength(op, n, a, p.t * p.hk * p.d, `[${p.t}, ${p.hk}, ${p.d}]`);
  return { tq: p.t, tk: p.t, hq: p.hq, hk: p.hk, d: p.d, scale: p.scale ?? 1 / Math.sqrt(p.d) };
}

/** Inclusive key range of the token at position t: its window, cut at the start of its segment. */
const keyRange = (t: number, p: SwaParams): [number, number] => {
  const s0 = p.segLen === undefined ? 0 : t - (t % p.segLen);
  return [Math.max(s0, t - p.window), t];
};

/** swaAttentionForward: [q, k, v, out] (+ optional lse [T, Hq] for a backward pass); see qStart. */
export function swaAttentionForwardRef([q, k, v, out, lse]: FloatArray[], p: SwaParams): void {
  const s = p.qStart ?? 0;
  nonNegativeInt('swaAttention', 'qStart', s);
  if (s >= p.t && p.t > 0) throw new ArgumentError(`swaAttention: qStart ${s} leaves no query row of ${p.t}`);
  const x = { ...dims('swaAttention', { ...p, t: p.t - s }, { q, out }, {}), tk: p.t };
  needLength('swaAttention', 'k', k, p.t * p.hk * p.d, `[${p.t}, ${p.hk}, ${p.d}]`);
  needLength('swaAttention', 'v', v, p.t * p.hk * p.d, `[${p.t}, ${p.hk}, ${p.d}]`);
  denseAttentionForward(q, k, v, out, lse ?? null, x, (t) => keyRange(t + s, p));
}

/** swaAttentionBackward: [q, k, v, dout, dq, dk, dv]; the three gradients are overwritten. */
export function swaAttentionBackwardRef([q, k, v, dout, dq, dk, dv]: FloatArray[], p: SwaParams): void {
  const x = dims('swaAttentionBackward', p, { q, dout, dq }, { k, v, dk, dv });
  denseAttentionBackward([q, k, v, dout], [dq, dk, dv], x, (t) => keyRange(t, p));
}

export interface SwaDecodeParams {
  /** absolute position of the new token */
  pos: number;
  hq: number;
  hk: number;
  d: number;
  /** window W = ring-buffer length */
  window: number;
  scale?: number;
  /** write kNew/vNew into the ring after attending (default true) */
  append?: boolean;
}

/** swaAttentionDecode: [q, kNew, vNew, kCache, vCache, out]; q, out [Hq, D]; caches [W, Hk, D]. */
export function swaAttentionDecodeRef([q, kNew, vNew, kCache, vCache, out]: FloatArray[], p: SwaDecodeParams): void {
  const op = 'swaAttentionDecode';
  nonNegativeInt(op, 'pos', p.pos);
  nonNegativeInt(op, 'window', p.window);
  positiveInt(op, 'd', p.d);
  headRatio(op, p.hq, p.hk);
  const row = p.hk * p.d;
  needLength(op, 'q', q, p.hq * p.d, `[${p.hq}, ${p.d}]`);
  needLength(op, 'out', out, p.hq * p.d, `[${p.hq}, ${p.d}]`);
  needLength(op, 'kCache', kCache, p.window * row, `[${p.window}, ${p.hk}, ${p.d}]`);
  needLength(op, 'vCache', vCache, p.window * row, `[${p.window}, ${p.hk}, ${p.d}]`);
  // gather the visible keys oldest first: cached positions first..pos−1, then the new token
  const first = Math.max(0, p.pos - p.window);
  const n = p.pos - first + 1;
  const ks = new Float64Array(n * row);
  const vs = new Float64Array(n * row);
  for (let pos = first; pos < p.pos; pos++) {
    const slot = (pos % p.window) * row;
    ks.set(kCache.subarray(slot, slot + row), (pos - first) * row);
    vs.set(vCache.subarray(slot, slot + row), (pos - first) * row);
  }
  ks.set(kNew.subarray(0, row), (n - 1) * row);
  vs.set(vNew.subarray(0, row), (n - 1) * row);
  const x: DenseDims = { tq: 1, tk: n, hq: p.hq, hk: p.hk, d: p.d, scale: p.scale ?? 1 / Math.sqrt(p.d) };
  denseAttentionForward(q, ks, vs, out, null, x, () => [0, n - 1]);
  if ((p.append ?? true) && p.window > 0) {
    const slot = (p.pos % p.window) * row;
    kCache.set(kNew.subarray(0, row), slot);
    vCache.set(vNew.subarray(0, row), slot);
  }
}
