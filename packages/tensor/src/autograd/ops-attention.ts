/**
 * Differentiable attention ops: swaAttention, chunkEncoderAttention (backward from the saved output
 * and log-sum-exp), hsaChunkAttention (gradients for q, the memory K/V and the fusion weights w; idx
 * gets none) and hsaRetrieval (gradients of w for qr and the landmarks; the top-k choice gets none).
 */
import { ArgumentError } from '@hsa/kernels';
import { cast } from '../ops/cast.js';
import { type BackwardVersion, chunkEncoderAttentionBackward, swaAttentionBackward } from '../ops/attention/attentionBackward.js';
import { chunkAttentionVariant, hsaChunkAttention as hsaChunkAttentionOp } from '../ops/attention/hsaChunkAttention.js';
import { chunkBackwardVariant, type HsaChunkAttentionBackwardOptions, hsaChunkAttentionBackward } from '../ops/attention/hsaChunkAttentionBackward.js';
import { type HsaRetrievalOptions, type HsaRetrievalResult, hsaRetrieval as hsaRetrievalOp } from '../ops/attention/hsaRetrieval.js';
import { hsaRetrievalBackward } from '../ops/attention/hsaRetrievalBackward.js';
import { type AttentionOptions, chunkEncoderAttentionWithLse, type SwaOptions, swaAttentionWithLse } from '../ops/attention/swaAttention.js';
import type { Tensor } from '../tensor.js';
import { keep, record, shouldRecord } from './tape.js';

type Dense = { out: Tensor; lse: Tensor | null };
type DenseBackward = (q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dy: Tensor) => { dq: Tensor; dk: Tensor; dv: Tensor };

function recordDense(op: string, [q, k, v]: Tensor[], { out, lse }: Dense, back: DenseBackward): Tensor {
  if (!lse) throw new ArgumentError(`ag.${op}: the forward returned no log-sum-exp`);
  if (!shouldRecord(q, k, v)) {
    lse.dispose();
    return out;
  }
  const [sq, sk, sv, so] = [q, k, v, out].map(keep);
  return record({
    op,
    inputs: [q, k, v],
    output: out,
    saved: [sq, sk, sv, so, lse],
    backward: (dy) => {
      const g = back(sq, sk, sv, so, lse, dy);
      return [g.dq, g.dk, g.dv];
    },
  });
}

/**
 * swaAttention (q [T, Hq, D], k, v [T, Hk, D]) with gradients for q, k, v; `version` and
 * `scoreGradBytes` go to the backward (swaAttentionBackward: v3's score-gradient band, at most 1 GiB
 * by default).
 */
export function swaAttention(q: Tensor, k: Tensor, v: Tensor, options: SwaOptions & BackwardVersion): Tensor {
  // the f32 tiles forward by default: its out and lse are what the f32 backward expects
  const o = { variant: 'tiles' as const, ...options };
  return recordDense('swaAttention', [q, k, v], swaAttentionWithLse(q, k, v, o), (...a) => swaAttentionBackward(...a, options));
}

/** chunkEncoderAttention (q [N, T, Hq, D], k, v [N, T, Hk, D]) with gradients for q, k, v (backward options as swaAttention). */
export function chunkEncoderAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions & BackwardVersion = {}): Tensor {
  const fwd = chunkEncoderAttentionWithLse(q, k, v, options);
  return recordDense('chunkEncoderAttention', [q, k, v], fwd, (...a) => chunkEncoderAttentionBackward(...a, options));
}

/**
 * hsaChunkAttention with gradients for q, memK, memV (f32, one part while recording) and w; idx is
 * an index and gets none. Where both passes run on matrix units (the forward's `mma` variant and the
 * backward's, the defaults where the device offers them), f32 memory is rounded to f16 once and the
 * f16 copies serve both (the matrix loads read them straight from storage).
 */
export function hsaChunkAttention(
  q: Tensor,
  memK: Tensor | Tensor[],
  memV: Tensor | Tensor[],
  idx: Tensor,
  w: Tensor,
  options: HsaChunkAttentionBackwardOptions,
): Tensor {
  const ks = Array.isArray(memK) ? memK : [memK];
  const vs = Array.isArray(memV) ? memV : [memV];
  if (!shouldRecord(q, w, ...ks, ...vs)) return hsaChunkAttentionOp(q, memK, memV, idx, w, options);
  if (ks.length !== 1 || vs.length !== 1) throw new ArgumentError('ag.hsaChunkAttention: a trained memory must be one tensor, not parts');
  const fwdMma = chunkAttentionVariant(q, ks[0].dtype as 'f32' | 'bf16' | 'f16', options) === 'mma';
  const half = fwdMma && ks[0].dtype === 'f32' && chunkBackwardVariant(q, ks[0], idx, options) === 'mma';
  const [mk, mv] = half ? [cast(ks[0], 'f16'), cast(vs[0], 'f16')] : [ks[0], vs[0]];
  const out = hsaChunkAttentionOp(q, mk, mv, idx, w, options);
  const saved = [q, mk, mv, idx, w].map(keep);
  if (half) for (const x of [mk, mv]) x.dispose();
  return record({
    op: 'hsaChunkAttention',
    inputs: [q, ks[0], vs[0], w],
    output: out,
    saved,
    backward: (dy) => {
      const [sq, sk, sv, si, sw] = saved;
      const g = hsaChunkAttentionBackward(sq, sk, sv, si, sw, dy, options);
      return [g.dq, g.dK, g.dV, g.dw];
    },
  });
}

/**
 * hsaRetrieval with the fusion weights w differentiable in qr and the landmarks (idx and sel are
 * plain outputs; pos_decay is a number here, so its gradient is not propagated: see
 * hsaRetrievalBackward's dPosDecay).
 */
export function hsaRetrieval(qr: Tensor, lmk: Tensor, options: HsaRetrievalOptions): HsaRetrievalResult {
  const fwd = hsaRetrievalOp(qr, lmk, options);
  if (!shouldRecord(qr, lmk)) return fwd;
  const [sq, sl, si, sw, ss] = [qr, lmk, fwd.idx, fwd.w, fwd.sel].map(keep);
  const w = record({
    op: 'hsaRetrieval',
    inputs: [qr, lmk],
    output: fwd.w,
    saved: [sq, sl, si, sw, ss],
    backward: (dw) => {
      const g = hsaRetrievalBackward(sq, sl, { idx: si, w: sw, sel: ss }, dw, options);
      g.dPosDecay.dispose();
      return [g.dqr, g.dlmk];
    },
  });
  return { ...fwd, w };
}
