/**
 * HSA retrieval (reference-model.md §3.6), per batch element: landmark scores, top-k with the
 * reference's slot rules, fusion weights.
 *   s[t,h,c] = qr[t,h]·lmk[c,h]/√dr, −∞ unless chunk c is visible at absolute position p = posOffset + t:
 *     (c+1)·S ≤ p, or with maskWindow (mask_slide_window; max(slide_window, sliding_window)): c·S ≤ p − maskWindow
 *   top k_eff = min(C, topk) by descending score (ties: lower chunk index first); slot j is valid iff
 *   j < floor(p/S); with segLen (packed sequences) a chunk before p's segment is masked too and the
 *   slots count from the segment's start, j < floor((p − start)/S); valid slots sorted by descending
 *   chunk index (most recent first), invalid slots last with idx = 0 and sel = −∞; w = fusion(sel)
 *   (hsaFusion.ref.ts).
 * singlehead retrieval: hr = 1 and the one choice is repeated to all hk KV heads (otherwise hr = hk).
 * Layouts, row-major: qr [T, Hr, dr]; lmk [C, Hr, dr]; scores [T, Hr, C]; sel [T, Hr, k_eff];
 * idx (Int32), w [T, Hk, k_eff].
 * Decode is the same with T = 1 and posOffset = the token's position: one O(C) landmark scan and an
 * O(C·k) insertion top-k, no full sort, against a memory of any number of chunks.
 * v1 plain loops, float64 sums.
 */
import type { FloatArray } from '../core/dtype.js';
import { ShapeError } from '../core/errors.js';
import { dot, needLength, nonNegativeInt, positiveInt } from './common.js';
import { type FusionMode, hsaFusionWeightsRef } from './hsaFusion.ref.js';

export interface HsaRetrievalParams {
  /** tokens T */
  t: number;
  /** chunks in memory C */
  chunks: number;
  /** chunk size S */
  s: number;
  /** retrieval heads Hr (1 for singlehead retrieval, else hk) */
  hr: number;
  /** KV heads Hk of the HSA memory */
  hk: number;
  /** retrieval head size dr */
  dr: number;
  /** chunk_topk */
  topk: number;
  mode: FusionMode;
  posDecay?: number;
  /** absolute position of row 0 (default 0) */
  posOffset?: number;
  /** mask_slide_window: chunk c visible iff c·S ≤ p − maskWindow; undefined = off */
  maskWindow?: number;
  /**
   * Tokens per segment (a multiple of S; undefined = one segment): packed sequences, each token sees
   * only the chunks of its own segment and counts its completed chunks from the segment's start.
   */
  segLen?: number;
  /** default 1/√dr */
  scale?: number;
}

/** k_eff = min(C, topk): the slot count of idx, sel and w. */
export const hsaSlots = (p: Pick<HsaRetrievalParams, 'chunks' | 'topk'>): number => Math.min(p.chunks, p.topk);

export function checkRetrieval(op: string, p: HsaRetrievalParams): void {
  nonNegativeInt(op, 't', p.t);
  nonNegativeInt(op, 'chunks', p.chunks);
  positiveInt(op, 's', p.s);
  positiveInt(op, 'dr', p.dr);
  positiveInt(op, 'topk', p.topk);
  positiveInt(op, 'hk', p.hk);
  nonNegativeInt(op, 'posOffset', p.posOffset ?? 0);
  if (p.maskWindow !== undefined) nonNegativeInt(op, 'maskWindow', p.maskWindow);
  if (p.segLen !== undefined) {
    positiveInt(op, 'segLen', p.segLen);
    if (p.segLen % p.s !== 0) throw new ShapeError(`${op}: segLen ${p.segLen} is not a multiple of the chunk size ${p.s}`);
  }
  if (p.hr !== 1 && p.hr !== p.hk) {
    throw new ShapeError(`${op}: ${p.hr} retrieval heads must be 1 (singlehead) or equal the ${p.hk} KV heads`);
  }
}

/** The first position of pos's segment (0 without segLen). */
export const segmentStart = (pos: number, p: Pick<HsaRetrievalParams, 'segLen'>): number => (p.segLen === undefined ? 0 : pos - (pos % p.segLen));

/** Slots that hold a chunk at absolute position pos: min(k, completed chunks of its segment). */
export const validSlots = (pos: number, k: number, p: Pick<HsaRetrievalParams, 'segLen' | 's'>): number =>
  Math.min(k, Math.floor((pos - segmentStart(pos, p)) / p.s));

/** Is chunk c visible at absolute position pos? */
function visible(c: number, pos: number, p: HsaRetrievalParams): boolean {
  if (c * p.s < segmentStart(pos, p)) return false;
  return p.maskWindow === undefined ? (c + 1) * p.s <= pos : c * p.s <= pos - p.maskWindow;
}

/** hsaLandmarkScores: [qr, lmk, scores]; scores [T, Hr, C], −∞ where masked. */
export function hsaLandmarkScoresRef([qr, lmk, scores]: FloatArray[], p: HsaRetrievalParams): void {
  const op = 'hsaLandmarkScores';
  checkRetrieval(op, p);
  const { t: T, chunks: C, hr, dr } = p;
  needLength(op, 'qr', qr, T * hr * dr, `[${T}, ${hr}, ${dr}]`);
  needLength(op, 'lmk', lmk, C * hr * dr, `[${C}, ${hr}, ${dr}]`);
  needLength(op, 'scores', scores, T * hr * C, `[${T}, ${hr}, ${C}]`);
  const scale = p.scale ?? 1 / Math.sqrt(dr);
  for (let t = 0; t < T; t++) {
    const pos = (p.posOffset ?? 0) + t;
    for (let h = 0; h < hr; h++) {
      for (let c = 0; c < C; c++) {
        scores[(t * hr + h) * C + c] = visible(c, pos, p)
          ? dot(qr, (t * hr + h) * dr, lmk, (c * hr + h) * dr, dr) * scale
          : Number.NEGATIVE_INFINITY;
      }
    }
  }
}

/** Top-`k` chunk indices of one score row, by descending score (ties: lower index first), O(C·k). */
export function topkRow(scores: ArrayLike<number>, o: number, C: number, k: number, top: Int32Array): void {
  let n = 0;
  for (let c = 0; c < C; c++) {
    const s = scores[o + c];
    if (n === k && !(s > scores[o + top[k - 1]])) continue;
    let j = n < k ? n++ : k - 1;
    while (j > 0 && s > scores[o + top[j - 1]]) {
      top[j] = top[j - 1];
      j--;
    }
    top[j] = c;
  }
}

/**
 * hsaSelectTopk: [scores, idx, sel]; scores [T, Hr, C] → idx (Int32) [T, Hr, k_eff] most recent
 * first, invalid slots idx 0 / sel −∞.
 */
export function hsaSelectTopkRef([scores, idx, sel]: [FloatArray, Int32Array, FloatArray], p: HsaRetrievalParams): void {
  const op = 'hsaSelectTopk';
  checkRetrieval(op, p);
  const { t: T, chunks: C, hr } = p;
  const k = hsaSlots(p);
  needLength(op, 'scores', scores, T * hr * C, `[${T}, ${hr}, ${C}]`);
  needLength(op, 'idx', idx, T * hr * k, `[${T}, ${hr}, ${k}]`);
  needLength(op, 'sel', sel, T * hr * k, `[${T}, ${hr}, ${k}]`);
  const top = new Int32Array(k);
  for (let t = 0; t < T; t++) {
    const valid = validSlots((p.posOffset ?? 0) + t, k, p);
    for (let h = 0; h < hr; h++) {
      const row = t * hr + h;
      topkRow(scores, row * C, C, k, top);
      const chosen = Array.from(top.subarray(0, valid)).sort((a, b) => b - a);
      for (let j = 0; j < k; j++) {
        idx[row * k + j] = j < valid ? chosen[j] : 0;
        sel[row * k + j] = j < valid ? scores[row * C + chosen[j]] : Number.NEGATIVE_INFINITY;
      }
    }
  }
}

/** Repeats [T, 1, k] to [T, Hk, k] (singlehead), or copies [T, Hk, k]. */
function expandHeads(src: ArrayLike<number>, dst: { [i: number]: number }, t: number, hr: number, hk: number, k: number): void {
  for (let i = 0; i < t; i++) {
    for (let g = 0; g < hk; g++) {
      const from = (i * hr + (hr === 1 ? 0 : g)) * k;
      for (let j = 0; j < k; j++) dst[(i * hk + g) * k + j] = src[from + j];
    }
  }
}

/** Scores, selected scores and weights at retrieval-head level (the forward pass's intermediates). */
export function retrievalForward(qr: FloatArray, lmk: FloatArray, p: HsaRetrievalParams) {
  const k = hsaSlots(p);
  const rows = p.t * p.hr;
  const scores = new Float64Array(rows * p.chunks);
  const idx = new Int32Array(rows * k);
  const sel = new Float64Array(rows * k);
  const w = new Float64Array(rows * k);
  hsaLandmarkScoresRef([qr, lmk, scores], p);
  hsaSelectTopkRef([scores, idx, sel], p);
  if (k > 0) hsaFusionWeightsRef([sel, w], { rows, k, mode: p.mode, posDecay: p.posDecay });
  return { k, scores, idx, sel, w };
}

/** hsaRetrieval: [qr, lmk, idx (Int32), w] with idx, w [T, Hk, k_eff]. */
export function hsaRetrievalRef([qr, lmk, idx, w]: [FloatArray, FloatArray, Int32Array, FloatArray], p: HsaRetrievalParams): void {
  checkRetrieval('hsaRetrieval', p);
  const k = hsaSlots(p);
  needLength('hsaRetrieval', 'idx', idx, p.t * p.hk * k, `[${p.t}, ${p.hk}, ${k}]`);
  needLength('hsaRetrieval', 'w', w, p.t * p.hk * k, `[${p.t}, ${p.hk}, ${k}]`);
  const f = retrievalForward(qr, lmk, p);
  expandHeads(f.idx, idx, p.t, p.hr, p.hk, k);
  expandHeads(f.w, w, p.t, p.hr, p.hk, k);
}

/**
 * hsaRetrievalDecode: one token at absolute position `pos` against C stored chunks:
 * [qr [Hr, dr], lmk [C, Hr, dr], idx [Hk, k_eff], w [Hk, k_eff]].
 */
export function hsaRetrievalDecodeRef(
  arrays: [FloatArray, FloatArray, Int32Array, FloatArray],
  p: Omit<HsaRetrievalParams, 't' | 'posOffset'> & { pos: number },
): void {
  const { pos, ...rest } = p;
  hsaRetrievalRef(arrays, { ...rest, t: 1, posOffset: pos });
}
