/**
 * Dense attention ops over Tensors: swaAttention (causal window, GQA), chunkEncoderAttention
 * (bidirectional inside each chunk) and swaAttentionDecode (one token against a ring buffer).
 * Inputs are already normed and RoPE'd (reference-model.md §3.2, §3.5).
 */
import {
  ArgumentError,
  cast as castKernel,
  chunkEncoderAttentionForward,
  type Kernel,
  ShapeError,
  decodeKeys,
  SWA_SPLIT_BLOCK,
  SWA_SPLIT_MAX_D,
  swaAttentionDecodeForward,
  swaAttentionForward,
  swaDecodeSplitMerge,
  swaDecodeSplitPartial,
  SWA_MMA_KT,
  type SwaMmaTile,
  swaMmaUnsupported,
} from '@hsa/kernels';
import { cast } from '../cast.js';
import { fmtShape, Tensor } from '../../tensor.js';
import { concat, sliceCopy } from '../copy.js';
import { expectDtype, sameBackend } from '../guards.js';

export interface AttentionOptions {
  /** score scale, default 1/√D */
  scale?: number;
}

/** Checks q [..., Hq, D] against k, v [..., Hk, D] (same leading dims); returns Hq, Hk, D. */
function heads(op: string, q: Tensor, k: Tensor, v: Tensor, rank: number) {
  sameBackend(op, q, k, v);
  for (const t of [q, k, v]) expectDtype(op, t, 'f32');
  const desc = `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`;
  if (q.rank !== rank || k.rank !== rank || v.rank !== rank) throw new ShapeError(`${op}: expected rank-${rank} tensors, got ${desc}`);
  const lead = q.shape.slice(0, -2);
  const same = (t: Tensor) => t.shape.slice(0, -2).every((d, i) => d === lead[i]);
  const [hq, d] = q.shape.slice(-2);
  const hk = k.shape[rank - 2];
  if (!same(k) || !same(v) || k.shape[rank - 1] !== d || v.shape.some((x, i) => x !== k.shape[i])) {
    throw new ShapeError(`${op}: shapes do not match: ${desc}`);
  }
  if (hk === 0 || hq % hk !== 0) throw new ShapeError(`${op}: ${hq} query heads do not divide into ${hk} KV heads (${desc})`);
  if (d === 0) throw new ShapeError(`${op}: head size 0 (${desc})`);
  return { hq, hk, d };
}

function runDense<P>(kernel: Kernel<P>, p: P, q: Tensor, kvs: Tensor[], lseShape: number[], withLse: boolean) {
  const ins = [q, ...kvs].map((t) => t.bindable());
  const out = Tensor.empty(q.backend, q.shape, 'f32');
  const lse = Tensor.empty(q.backend, lseShape, 'f32');
  if (q.size > 0) q.backend.run(kernel, p, [...ins.map((t) => t.arg()), out.arg(), lse.arg()]);
  for (const t of ins) t.dispose();
  if (!withLse) lse.dispose();
  return { out, lse: withLse ? lse : null };
}

/** The split-key decode (swaDecodeSplitPartial, then swaDecodeSplitMerge) → out [Hq, D]. */
function decodeSplit(q: Tensor, kc: Tensor, vc: Tensor, kn: Tensor, vn: Tensor, o: { pos: number; hq: number; hk: number; d: number; window: number; scale?: number }): Tensor {
  const p = { ...o, block: SWA_SPLIT_BLOCK, scale: o.scale ?? 1 / Math.sqrt(o.d) };
  const qc = q.contiguous();
  const part = Tensor.empty(q.backend, [o.hq, decodeKeys(p).splits, o.d + 2], 'f32');
  const out = Tensor.empty(q.backend, q.shape, 'f32');
  const lse = Tensor.empty(q.backend, [o.hq], 'f32');
  q.backend.run(swaDecodeSplitPartial, p, [qc.arg(), kc.arg(), vc.arg(), kn.arg(), vn.arg(), part.arg()]);
  q.backend.run(swaDecodeSplitMerge, p, [part.arg(), out.arg(), lse.arg()]);
  for (const t of [qc, part, lse]) t.dispose();
  return out;
}

/**
 * Sliding-window attention: q [T, Hq, D], k, v [T, Hk, D] → [T, Hq, D]; token t sees keys
 * t − window … t (window + 1 keys).
 */
export function swaAttention(q: Tensor, k: Tensor, v: Tensor, options: SwaOptions): Tensor {
  return swaAttentionWithLse(q, k, v, options, false).out;
}

/** Options of swaAttention: the window W, and `segment` for packed sequences. */
export interface SwaOptions extends AttentionOptions {
  window: number;
  /**
   * WebGPU kernel: `mma` (f16 subgroup matrices: a device created with `subgroupMatrix: true` that
   * offers them, 16·n query heads a KV head, D a multiple of 16 up to 128; q, k, v rounded to f16,
   * sums in f32) or `tiles` (f32); default `mma` where it can run (forward only: ag.swaAttention
   * keeps `tiles`, whose backward matches it), else `tiles`
   */
  variant?: 'mma' | 'tiles';
  /** the mma variant's layout (tokens a workgroup, keys a tile; default 4 × 64): bench/attention compares them */
  mmaTile?: SwaMmaTile;
  /**
   * Tokens per sequence when T = n·segment tokens are n sequences packed one after another: a token
   * sees only keys of its own sequence (default: one sequence of T).
   */
  segment?: number;
}

/** The window clipped to a sequence, and the segment length (checked: it divides T; 0 when T = 0). */
export function swaWindow(op: string, t: number, options: SwaOptions): { window: number; segLen: number } {
  const w = options.window;
  if (!Number.isInteger(w) || w < 0) throw new ArgumentError(`${op}: window must be a non-negative integer, got ${w}`);
  if (t === 0) return { window: 0, segLen: 0 };
  const seg = options.segment ?? t;
  if (!Number.isInteger(seg) || seg < 1 || t % seg !== 0) {
    throw new ArgumentError(`${op}: segment must be a positive integer that divides the ${t} tokens, got ${options.segment}`);
  }
  return { window: Math.min(w, seg), segLen: seg };
}

/** swaAttention that also returns the row log-sum-exp [T, Hq] (for a backward pass). */
export function swaAttentionWithLse(q: Tensor, k: Tensor, v: Tensor, options: SwaOptions, withLse = true) {
  const op = 'swaAttention';
  const { hq, hk, d } = heads(op, q, k, v, 3);
  if (k.shape[0] !== q.shape[0]) throw new ShapeError(`${op}: q has ${q.shape[0]} tokens, k ${k.shape[0]}`);
  const t = q.shape[0];
  const { window, segLen } = swaWindow(op, t, options);
  const p = { t, hq, hk, d, window, scale: options.scale, segLen: segLen || undefined };
  const why = swaMmaUnsupported(q.backend.caps, d, hq / hk);
  const variant = options.variant ?? (why === null ? 'mma' : 'tiles');
  if (variant !== 'mma' && variant !== 'tiles') throw new ArgumentError(`${op}: variant must be 'mma' or 'tiles', got ${variant}`);
  if (variant === 'tiles' || t === 0) return runDense(swaAttentionForward, p, q, [k, v], [t, hq], withLse);
  if (why) throw new ArgumentError(`${op}: the mma variant cannot run here (${why})`);
  // f16 copies: q, and k, v with SWA_MMA_KT zero rows past the last token (a key tile never reads past them)
  const q16 = cast(q, 'f16');
  const [k16, v16] = [k, v].map((x) => padHalf(x, SWA_MMA_KT));
  const res = runDense(swaAttentionForward, { ...p, version: 'mma' as const, mmaTile: options.mmaTile }, q16, [k16, v16], [t, hq], withLse);
  for (const x of [q16, k16, v16]) x.dispose();
  return res;
}

/** x [T, ...] (f32) as f16 [T + rows, ...], the extra rows zero (rows · the rest an even count). */
function padHalf(x: Tensor, rows: number): Tensor {
  const [t, ...rest] = x.shape;
  const out = Tensor.empty(x.backend, [t + rows, ...rest], 'f16');
  const xc = x.contiguous();
  x.backend.run(castKernel, { n: x.size, from: 'f32', to: 'f16' }, [xc.arg(), out.arg()]);
  x.backend.write(out.storage, new Uint16Array(out.size - x.size), x.size * 2);
  xc.dispose();
  return out;
}

/**
 * Sliding-window attention of a segment after its history: q [T, Hq, D] are the last T of the
 * H + T positions of k, v [H + T, Hk, D] → [T, Hq, D], the rows H… of swaAttention with q padded by H
 * rows. The CPU reference computes only those rows (a prefill segment after the first skips up to W
 * history rows); the WebGPU kernels compute the padded rows and the result is sliced.
 */
export function swaAttentionSegment(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions & { window: number }): Tensor {
  const op = 'swaAttentionSegment';
  const [tq, tk] = [q.shape[0], k.shape[0]];
  if (q.rank !== 3 || k.rank !== 3 || tq > tk || tq === 0) throw new ShapeError(`${op}: q ${fmtShape(q.shape)} must be the last 1…${tk} rows of k ${fmtShape(k.shape)}`);
  const h = tk - tq;
  if (h === 0) return swaAttention(q, k, v, options);
  if (q.backend.name !== 'cpu') {
    const pad = Tensor.from(q.backend, new Float32Array((h * q.size) / tq), [h, ...q.shape.slice(1)]);
    const qAll = concat([pad, q], 0);
    const o = swaAttention(qAll, k, v, options);
    const out = sliceCopy(o, 0, h, tk);
    for (const t of [pad, qAll, o]) t.dispose();
    return out;
  }
  sameBackend(op, q, k, v);
  for (const t of [q, k, v]) expectDtype(op, t, 'f32');
  const [, hq, d] = q.shape;
  const hk = k.shape[1];
  if (k.shape[2] !== d || v.shape.some((x, i) => x !== k.shape[i]) || hk === 0 || hq % hk !== 0 || d === 0) {
    throw new ShapeError(`${op}: shapes do not match: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`);
  }
  const w = options.window;
  if (!Number.isInteger(w) || w < 0) throw new ArgumentError(`${op}: window must be a non-negative integer, got ${w}`);
  const p = { t: tk, hq, hk, d, window: Math.min(w, tk), scale: options.scale, qStart: h };
  return runDense(swaAttentionForward, p, q, [k, v], [tq, hq], false).out;
}

/**
 * Chunk-encoder attention: q [N, T, Hq, D], k, v [N, T, Hk, D] → [N, T, Hq, D], full bidirectional
 * softmax inside each chunk (T = S, or S + 1 with the CLS row).
 */
export function chunkEncoderAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  return chunkEncoderAttentionWithLse(q, k, v, options, false).out;
}

/** chunkEncoderAttention that also returns the row log-sum-exp [N, T, Hq] (for a backward pass). */
export function chunkEncoderAttentionWithLse(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}, withLse = true) {
  const { hq, hk, d } = heads('chunkEncoderAttention', q, k, v, 4);
  const [n, t] = q.shape;
  return runDense(chunkEncoderAttentionForward, { n, t, hq, hk, d, scale: options.scale }, q, [k, v], [n, t, hq], withLse);
}

/**
 * One decode step of SWA: q [Hq, D] and the new token's kNew, vNew [Hk, D] at absolute position
 * `pos`, against ring buffers kCache, vCache [W, Hk, D] (position p in slot p mod W). Returns
 * [Hq, D]; then writes kNew, vNew into slot pos mod W (the caches are updated in place).
 */
export function swaAttentionDecode(
  q: Tensor,
  kNew: Tensor,
  vNew: Tensor,
  kCache: Tensor,
  vCache: Tensor,
  options: AttentionOptions & { pos: number },
): Tensor {
  const op = 'swaAttentionDecode';
  const { hq, hk, d } = heads(op, q, kNew, vNew, 2);
  sameBackend(op, q, kCache, vCache);
  const window = kCache.shape[0];
  if (kCache.rank !== 3 || kCache.shape[1] !== hk || kCache.shape[2] !== d || vCache.shape.some((x, i) => x !== kCache.shape[i])) {
    throw new ShapeError(`${op}: caches ${fmtShape(kCache.shape)}, ${fmtShape(vCache.shape)} must be [W, ${hk}, ${d}]`);
  }
  if (!kCache.isContiguous || kCache.offset !== 0 || !vCache.isContiguous || vCache.offset !== 0) {
    throw new ArgumentError(`${op}: caches must be contiguous tensors (they are updated in place)`);
  }
  const pos = options.pos;
  if (!Number.isInteger(pos) || pos < 0) throw new ArgumentError(`${op}: pos must be a non-negative integer, got ${pos}`);
  const p = { pos, hq, hk, d, window, scale: options.scale };
  const kn = kNew.contiguous();
  const vn = vNew.contiguous();
  const out = d <= SWA_SPLIT_MAX_D ? decodeSplit(q, kCache, vCache, kn, vn, p) : runDense(swaAttentionDecodeForward, p, q, [kCache, vCache, kn, vn], [hq], false).out;
  if (window > 0) {
    const row = hk * d * 4;
    const slot = (pos % window) * row;
    q.backend.copy(kn.storage, 0, kCache.storage, slot, row);
    q.backend.copy(vn.storage, 0, vCache.storage, slot, row);
  }
  kn.dispose();
  vn.dispose();
  return out;
}
