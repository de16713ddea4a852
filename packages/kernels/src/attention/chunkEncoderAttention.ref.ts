/**
 * Chunk-encoder attention (reference-model.md §3.5): full bidirectional softmax attention inside each
 * of N independent chunks of T tokens (T = S, or S + 1 with the CLS row last), GQA with
 * num_key_value_heads:  out[n,t,h] = Σ_{j<T} softmax_j(q[n,t,h]·k[n,j,g]/√D) v[n,j,g].
 * Inputs are already normed and RoPE'd (chunk-local positions 0..T−1).
 * Layouts, row-major: q, out, dq [N, T, Hq, D]; k, v, dk, dv [N, T, Hk, D].
 * v1 plain loops, float64 sums.
 */
import type { FloatArray } from '../core/dtype.js';
import { headRatio, needLength, positiveInt } from './common.js';
import { type DenseDims, denseAttentionBackward, denseAttentionForward } from './denseAttention.js';

export interface ChunkEncoderAttentionParams {
  /** number of chunks N */
  n: number;
  /** tokens per chunk T */
  t: number;
  hq: number;
  hk: number;
  d: number;
  scale?: number;
}

function dims(op: string, p: ChunkEncoderAttentionParams, qs: Record<string, FloatArray>, ks: Record<string, FloatArray>): DenseDims {
  positiveInt(op, 'n', p.n);
  positiveInt(op, 't', p.t);
  positiveInt(op, 'd', p.d);
  headRatio(op, p.hq, p.hk);
  for (const [name, a] of Object.entries(qs)) needLength(op, name, a, p.n * p.t * p.hq * p.d, `[${p.n}, ${p.t}, ${p.hq}, ${p.d}]`);
  for (const [name, a] of Object.entries(ks)) needLength(op, name, a, p.n * p.t * p.hk * p.d, `[${p.n}, ${p.t}, ${p.hk}, ${p.d}]`);
  return { tq: p.t, tk: p.t, hq: p.hq, hk: p.hk, d: p.d, scale: p.scale ?? 1 / Math.sqrt(p.d) };
}

/** Chunk c's rows of a [N, T, H, D] array. */
const rows = (a: FloatArray, c: number, size: number): FloatArray => a.subarray(c * size, (c + 1) * size);

/** chunkEncoderAttentionForward: [q, k, v, out] (+ optional lse [N, T, Hq] for a backward pass). */
export function chunkEncoderAttentionForwardRef([q, k, v, out, lse]: FloatArray[], p: ChunkEncoderAttentionParams): void {
  const x = dims('chunkEncoderAttention', p, { q, out }, { k, v });
  const qs = p.t * p.hq * p.d;
  const ks = p.t * p.hk * p.d;
  const all = () => [0, p.t - 1] as const;
  for (let c = 0; c < p.n; c++) {
    const l = lse ? rows(lse, c, p.t * p.hq) : null;
    denseAttentionForward(rows(q, c, qs), rows(k, c, ks), rows(v, c, ks), rows(out, c, qs), l, x, all);
  }
}

/** chunkEncoderAttentionBackward: [q, k, v, dout, dq, dk, dv]; gradients overwritten. */
export function chunkEncoderAttentionBackwardRef([q, k, v, dout, dq, dk, dv]: FloatArray[], p: ChunkEncoderAttentionParams): void {
  const x = dims('chunkEncoderAttentionBackward', p, { q, dout, dq }, { k, v, dk, dv });
  const qs = p.t * p.hq * p.d;
  const ks = p.t * p.hk * p.d;
  const all = () => [0, p.t - 1] as const;
  for (let c = 0; c < p.n; c++) {
    const inputs = [rows(q, c, qs), rows(k, c, ks), rows(v, c, ks), rows(dout, c, qs)];
    denseAttentionBackward(inputs, [rows(dq, c, qs), rows(dk, c, ks), rows(dv, c, ks)], x, all);
  }
}
