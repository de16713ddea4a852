/**
 * The optional sequence-level balance loss (hsa-spec.md §4; DeepSeek-V3's sequence-wise form), as a
 * differentiable op: for each sequence of S tokens, f_e = E/(k·S)·#picks of e, P_e = mean over the
 * sequence of p_te/Σ_e' p_te', loss = α·Σ_e f_e·P_e; the result is the mean over sequences. The
 * gradient flows to the router logits through the scores; the picks (f) get none.
 */
import { ArgumentError, type MoeScoreFn, moeAuxLossBackward, moeAuxLossStats } from '@hsa/kernels';
import { keep, record, scale, shouldRecord, sum, Tensor } from '@hsa/tensor';
import type { Routing } from './ops.js';

export interface SeqAuxLossOptions {
  /** weight α (aux_loss_alpha) */
  alpha: number;
  scoreFn: MoeScoreFn;
  /** tokens per sequence (T must be a multiple); default T: one sequence */
  seqLen?: number;
}

/** The loss (shape []) from the router logits [T, E] (differentiable) and their routing (scores, idx). */
export function moeSeqAuxLoss(logits: Tensor, routing: Pick<Routing, 'scores' | 'idx'>, o: SeqAuxLossOptions): Tensor {
  const [T, E] = logits.shape;
  const k = routing.idx.shape[1];
  const S = o.seqLen ?? T;
  if (S <= 0 || T % S !== 0) throw new ArgumentError(`moeSeqAuxLoss: ${T} tokens are not whole sequences of ${S}`);
  const B = T / S;
  const be = logits.backend;
  const p = { B, S, E, k, alpha: o.alpha };
  const stats = Tensor.empty(be, [B, E, 2]);
  const perSeq = Tensor.empty(be, [B]);
  be.run(moeAuxLossStats, p, [routing.scores.arg(), routing.idx.arg(), stats.arg(), perSeq.arg()]);
  const total = sum(perSeq, 0);
  const loss = scale(total, 1 / B);
  for (const t of [perSeq, total]) t.dispose();
  if (!shouldRecord(logits)) {
    stats.dispose();
    return loss;
  }
  const scores = keep(routing.scores);
  return record({
    op: 'moeSeqAuxLoss',
    inputs: [logits],
    output: loss,
    saved: [scores, stats],
    backward: (dy) => {
      const dr = Tensor.empty(be, [T, E]);
      const dc = dy.contiguous();
      be.run(moeAuxLossBackward, { ...p, scoreFn: o.scoreFn }, [scores.arg(), stats.arg(), dc.arg(), dr.arg()]);
      dc.dispose();
      return [dr];
    },
  });
}
