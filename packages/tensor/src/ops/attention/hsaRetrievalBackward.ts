/**
 * Backward of hsaRetrieval: from dw through the fusion (softmax with pos_decay, or stick-breaking)
 * into the selected scores, then into the retrieval query (a workgroup per row) and the landmarks
 * (deterministic over the slots that selected each chunk: the selection inverted on the GPU as in
 * hsaChunkAttentionBackward). The top-k choice itself gets no gradient.
 */
import { ArgumentError, type HsaRetrievalBackwardParams, hsaRetrievalDlmk, hsaRetrievalDq, ShapeError } from '@hsa/kernels';
import { fmtShape, Tensor } from '../../tensor.js';
import { fill } from '../fill.js';
import { expectDtype, sameBackend } from '../guards.js';
import { sum } from '../reduce.js';
import { invertSelection } from './hsaChunkAttentionBackward.js';
import type { HsaRetrievalOptions, HsaRetrievalResult } from './hsaRetrieval.js';

export interface HsaRetrievalGrads {
  /** [T, Hr, dr] */
  dqr: Tensor;
  /** [C, Hr, dr] */
  dlmk: Tensor;
  /** [1]: gradient of pos_decay (softmax fusion; 0 for stick-breaking) */
  dPosDecay: Tensor;
}

function params(qr: Tensor, lmk: Tensor, fwd: HsaRetrievalResult, dw: Tensor, o: Pick<HsaRetrievalOptions, 'mode' | 'scale'>): HsaRetrievalBackwardParams {
  const op = 'hsaRetrievalBackward';
  sameBackend(op, qr, lmk, fwd.idx, fwd.w, fwd.sel, dw);
  for (const t of [qr, lmk, fwd.w, fwd.sel, dw]) expectDtype(op, t, 'f32');
  expectDtype(op, fwd.idx, 'i32');
  if (o.mode !== 'softmax' && o.mode !== 'stickBreaking') throw new ArgumentError(`${op}: mode must be 'softmax' or 'stickBreaking', got ${o.mode}`);
  const [t, hr, dr] = qr.shape;
  const [hk, k] = fwd.idx.shape.slice(1);
  const same = (a: Tensor, s: number[]) => a.rank === s.length && a.shape.every((x, i) => x === s[i]);
  const ok =
    qr.rank === 3 &&
    same(lmk, [lmk.shape[0], hr, dr]) &&
    same(fwd.idx, [t, hk, k]) &&
    same(fwd.w, [t, hk, k]) &&
    same(dw, [t, hk, k]) &&
    same(fwd.sel, [t, hr, k]) &&
    (hr === 1 || hr === hk);
  if (!ok) {
    const desc = [qr, lmk, fwd.idx, fwd.w, fwd.sel, dw].map((x) => fmtShape(x.shape)).join(', ');
    throw new ShapeError(`${op}: expected qr [T, Hr, dr], landmarks [C, Hr, dr], idx, w, dw [T, Hk, k], sel [T, Hr, k] (Hr = 1 or Hk); got ${desc}`);
  }
  return { t, hr, hk, k, chunks: lmk.shape[0], dr, mode: o.mode, scale: o.scale };
}

/**
 * Gradients of hsaRetrieval(qr, landmarks) → { idx, w, sel } (`fwd`, the forward's result) for the
 * upstream dw [T, Hk, k_eff] → dqr, dlmk and dPosDecay.
 */
export function hsaRetrievalBackward(
  qr: Tensor,
  lmk: Tensor,
  fwd: HsaRetrievalResult,
  dw: Tensor,
  options: Pick<HsaRetrievalOptions, 'mode' | 'scale'>,
): HsaRetrievalGrads {
  const p = params(qr, lmk, fwd, dw, options);
  const be = qr.backend;
  if (p.t * p.k === 0 || p.chunks === 0) {
    return { dqr: fill(be, qr.shape, 0), dlmk: fill(be, lmk.shape, 0), dPosDecay: fill(be, [1], 0) };
  }
  const ins = [qr, lmk, fwd.idx, fwd.w, fwd.sel, dw].map((x) => x.contiguous());
  const dqr = Tensor.empty(be, qr.shape, 'f32');
  const dsel = Tensor.empty(be, [p.t, p.hr, p.k], 'f32');
  const idxR = Tensor.empty(be, [p.t, p.hr, p.k], 'i32');
  const dpdRow = Tensor.empty(be, [p.t * p.hr], 'f32');
  be.run(hsaRetrievalDq, p, [...ins, dqr, dsel, idxR, dpdRow].map((x) => x.arg()));
  const { order, starts } = invertSelection(idxR, dsel, { t: p.t, hk: p.hr, k: p.k, chunks: p.chunks });
  const dlmk = Tensor.empty(be, lmk.shape, 'f32');
  be.run(hsaRetrievalDlmk, p, [ins[0], dsel, order, starts, dlmk].map((x) => x.arg()));
  const total = sum(dpdRow, 0);
  const dPosDecay = total.reshape([1]);
  for (const x of [...ins, dsel, idxR, dpdRow, order, starts, total]) x.dispose();
  return { dqr, dlmk, dPosDecay };
}
