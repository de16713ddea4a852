/**
 * hsaRetrieval: landmark scores of each token against the completed chunks, top-k with the
 * reference's slot rules, and fusion weights (reference-model.md §3.6), for prefill and for decode
 * against a chunk memory of any length. The top-k never sorts the C scores: per-invocation lists and
 * a merge; long memories are scanned in blocks (each landmark read once), then the block lists merged.
 */
import { ArgumentError, type FusionMode, type HsaSelectParams, hsaSelect, hsaSlots, ShapeError } from '@hsa/kernels';
import { fmtShape, Tensor } from '../../tensor.js';
import { cast } from '../cast.js';
import { expectDtype, sameBackend } from '../guards.js';

export interface HsaRetrievalOptions {
  /** chunk size S */
  chunkSize: number;
  /** chunk_topk (k_eff = min(chunks, topk)) */
  topk: number;
  /** fusion: 'softmax' or 'stickBreaking' */
  mode: FusionMode;
  /** KV heads Hk (default Hr); with one retrieval head the choice is repeated to all Hk */
  hk?: number;
  posDecay?: number;
  /** absolute position of token 0 (decode: the token's position) */
  posOffset?: number;
  /** mask_slide_window: chunk c visible iff c·S ≤ pos − maskWindow */
  maskWindow?: number;
  /**
   * Tokens per sequence (a multiple of chunkSize) when sequences are packed one after another: a token
   * retrieves only chunks of its own sequence (default: one sequence)
   */
  segment?: number;
  /** default 1/√dr */
  scale?: number;
  /** force the block scan (chunks per block); default: blocks only for few rows over many chunks */
  blockLen?: number;
  /**
   * the block scan's and merge's workgroup top-k (WebGPU): `subgroup` (v5, the default where the
   * adapter's subgroups hold a list of k: bitonic sorts and merges between lanes), `bound` (the
   * default elsewhere: the merge offers only candidates as good as a bound from the blocks' heads,
   * v4), `threshold` (each offer bounds its k-th first, v3) or `rank` (v2); the same result
   */
  topkMode?: 'rank' | 'threshold' | 'bound' | 'subgroup';
  /**
   * WebGPU, prefill (fused pass): the selection's version, 3 (default where dr is a multiple of 4:
   * a bounded rank selection), 2 (per-invocation lists over vec4 landmark loads) or 1 (scalar loads,
   * every chunk visited); older versions are kept as baselines, the same result
   */
  fusedVersion?: 1 | 2 | 3;
}

export interface HsaRetrievalResult {
  /** [T, Hk, k_eff] i32, most recent chunk first, invalid slots 0 */
  idx: Tensor;
  /** [T, Hk, k_eff] fusion weights (0 for invalid or masked slots) */
  w: Tensor;
  /** [T, Hr, k_eff] selected scores, −∞ for invalid or masked slots */
  sel: Tensor;
}

/** hsaSelect's parameters for qr and landmarks (checked: typed errors). */
export function retrievalParams(op: string, qr: Tensor, lmk: Tensor, o: HsaRetrievalOptions): HsaSelectParams {
  sameBackend(op, qr, lmk);
  expectDtype(op, qr, 'f32');
  expectDtype(op, lmk, 'f32', 'bf16');
  const desc = `qr ${fmtShape(qr.shape)}, landmarks ${fmtShape(lmk.shape)}`;
  if (qr.rank !== 3 || lmk.rank !== 3 || qr.shape[1] !== lmk.shape[1] || qr.shape[2] !== lmk.shape[2]) {
    throw new ShapeError(`${op}: expected qr [T, Hr, dr] and landmarks [C, Hr, dr], got ${desc}`);
  }
  const [t, hr, dr] = qr.shape;
  const hk = o.hk ?? hr;
  if (hr !== 1 && hr !== hk) throw new ShapeError(`${op}: ${hr} retrieval heads must be 1 or equal the ${hk} KV heads (${desc})`);
  for (const [name, v] of [['chunkSize', o.chunkSize], ['topk', o.topk], ['hk', hk], ['dr', dr]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new ArgumentError(`${op}: ${name} must be a positive integer, got ${v}`);
  }
  for (const [name, v] of [['posOffset', o.posOffset ?? 0], ['maskWindow', o.maskWindow ?? 0]] as const) {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** 31) throw new ArgumentError(`${op}: ${name} must be a non-negative integer, got ${v}`);
  }
  const seg = o.segment;
  if (seg !== undefined && (!Number.isInteger(seg) || seg <= 0 || seg % o.chunkSize !== 0)) {
    throw new ArgumentError(`${op}: segment must be a positive multiple of the chunk size ${o.chunkSize}, got ${seg}`);
  }
  const chunks = lmk.shape[0];
  const rows = t * hr;
  // few rows over many chunks: split the scan into ~256 workgroups of ≥ 256 chunks (enough loads in
  // flight to stream the landmarks, few candidate lists for the merge; on the H200 at 4M and 16M
  // tokens the retrieval took 1.3-1.4x less time than with ~512, the same at 128K and 1M)
  const blockLen = o.blockLen ?? (rows < 256 && chunks > 1024 ? Math.max(256, Math.ceil((chunks * rows) / 256 / 256) * 256) : 0);
  return {
    t,
    chunks,
    s: o.chunkSize,
    hr,
    hk,
    dr,
    topk: o.topk,
    mode: o.mode,
    posDecay: o.posDecay,
    posOffset: o.posOffset,
    maskWindow: o.maskWindow,
    segLen: seg,
    scale: o.scale,
    pass: blockLen > 0 ? 'scan' : 'fused',
    blockLen,
    topkMode: o.topkMode,
    fusedVersion: o.fusedVersion,
    // bf16 landmarks are read packed by the decode scan (dr a multiple of 8); other passes get an f32 copy
    lmkDtype: lmk.dtype === 'bf16' && blockLen > 0 && dr % 8 === 0 ? 'bf16' : 'f32',
  };
}

/** qr contiguous and the landmarks as the kernels read them (p.lmkDtype: packed bf16, else an f32 copy); the caller disposes both. */
export function retrievalInputs(p: HsaSelectParams, qr: Tensor, lmk: Tensor): [Tensor, Tensor] {
  return [qr.contiguous(), lmk.dtype === p.lmkDtype ? lmk.contiguous() : cast(lmk, 'f32')];
}

/** The block scan's candidate lists candS / candI [T·Hr, nb, k_eff] of qr and landmarks l (contiguous, of p.lmkDtype). */
export function scanCandidates(p: HsaSelectParams, q: Tensor, l: Tensor): { candS: Tensor; candI: Tensor } {
  const be = q.backend;
  const shape = [p.t * p.hr, Math.ceil(p.chunks / p.blockLen), hsaSlots(p)];
  const candS = Tensor.empty(be, shape, 'f32');
  const candI = Tensor.empty(be, shape, 'u32');
  be.run(hsaSelect, p, [q.arg(), l.arg(), candS.arg(), candI.arg()]);
  return { candS, candI };
}

/** qr [T, Hr, dr], landmarks [C, Hr, dr] → idx, w [T, Hk, k_eff] and sel [T, Hr, k_eff]. */
export function hsaRetrieval(qr: Tensor, lmk: Tensor, options: HsaRetrievalOptions): HsaRetrievalResult {
  const p = retrievalParams('hsaRetrieval', qr, lmk, options);
  const be = qr.backend;
  const k = hsaSlots(p);
  const idx = Tensor.empty(be, [p.t, p.hk, k], 'i32');
  const w = Tensor.empty(be, [p.t, p.hk, k], 'f32');
  const sel = Tensor.empty(be, [p.t, p.hr, k], 'f32');
  if (k === 0 || p.t === 0) return { idx, w, sel };
  const [q, l] = retrievalInputs(p, qr, lmk);
  if (p.pass === 'fused') {
    be.run(hsaSelect, p, [q.arg(), l.arg(), idx.arg(), w.arg(), sel.arg()]);
  } else {
    const { candS, candI } = scanCandidates(p, q, l);
    be.run(hsaSelect, { ...p, pass: 'merge' }, [candS.arg(), candI.arg(), idx.arg(), w.arg(), sel.arg()]);
    candS.dispose();
    candI.dispose();
  }
  q.dispose();
  l.dispose();
  return { idx, w, sel };
}

/**
 * One decode step: qr [Hr, dr] of the token at absolute position `pos` against C stored landmarks
 * [C, Hr, dr] → idx, w [1, Hk, k_eff], sel [1, Hr, k_eff].
 */
export function hsaRetrievalDecode(qr: Tensor, lmk: Tensor, options: Omit<HsaRetrievalOptions, 'posOffset'> & { pos: number }): HsaRetrievalResult {
  if (qr.rank !== 2) throw new ShapeError(`hsaRetrievalDecode: qr ${fmtShape(qr.shape)} must be [Hr, dr]`);
  const q = qr.reshape([1, ...qr.shape]);
  try {
    return hsaRetrieval(q, lmk, { ...options, posOffset: options.pos });
  } finally {
    q.dispose();
  }
}
