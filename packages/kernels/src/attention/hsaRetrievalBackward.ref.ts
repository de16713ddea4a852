/**
 * Backward of HSA retrieval (hsaRetrieval.ref.ts): from dL/dw [T, Hk, k_eff] through the fusion
 * (softmax or stick-breaking) into the selected scores, then into the retrieval query and the
 * landmarks. The top-k choice itself gets no gradient; it is recomputed here from qr and lmk.
 *   dsel = fusion backward(Σ_{heads sharing the choice} dw);  for each valid slot j with chunk c:
 *   dqr[t,h] += dsel_j·lmk[c,h]/√dr,  dlmk[c,h] += dsel_j·qr[t,h]/√dr
 * Layouts, row-major: qr, dqr [T, Hr, dr]; lmk, dlmk [C, Hr, dr]; dw [T, Hk, k_eff]; dPosDecay [1].
 * v1 plain loops, float64 sums.
 */
import type { FloatArray } from '../core/dtype.js';
import { axpy, needLength } from './common.js';
import { hsaFusionBackwardRef } from './hsaFusion.ref.js';
import { checkRetrieval, type HsaRetrievalParams, hsaSlots, retrievalForward } from './hsaRetrieval.ref.js';

/** hsaRetrievalBackward: [qr, lmk, dw, dqr, dlmk] (+ optional dPosDecay); gradients overwritten. */
export function hsaRetrievalBackwardRef([qr, lmk, dw, dqr, dlmk, dPosDecay]: FloatArray[], p: HsaRetrievalParams): void {
  const op = 'hsaRetrievalBackward';
  checkRetrieval(op, p);
  const { t: T, chunks: C, hr, hk, dr } = p;
  const k = hsaSlots(p);
  needLength(op, 'qr', qr, T * hr * dr, `[${T}, ${hr}, ${dr}]`);
  needLength(op, 'dqr', dqr, T * hr * dr, `[${T}, ${hr}, ${dr}]`);
  needLength(op, 'lmk', lmk, C * hr * dr, `[${C}, ${hr}, ${dr}]`);
  needLength(op, 'dlmk', dlmk, C * hr * dr, `[${C}, ${hr}, ${dr}]`);
  needLength(op, 'dw', dw, T * hk * k, `[${T}, ${hk}, ${k}]`);
  dqr.fill(0);
  dlmk.fill(0);
  if (dPosDecay) dPosDecay[0] = 0;
  if (k === 0) return;
  const f = retrievalForward(qr, lmk, p);
  // heads that share one retrieval choice (singlehead: all hk) add their weight gradients
  const dwr = new Float64Array(T * hr * k);
  for (let t = 0; t < T; t++) {
    for (let g = 0; g < hk; g++) {
      const r = t * hr + (hr === 1 ? 0 : g);
      for (let j = 0; j < k; j++) dwr[r * k + j] += dw[(t * hk + g) * k + j];
    }
  }
  const dsel = new Float64Array(T * hr * k);
  hsaFusionBackwardRef([f.sel, f.w, dwr, dsel, ...(dPosDecay ? [dPosDecay] : [])], {
    rows: T * hr,
    k,
    mode: p.mode,
    posDecay: p.posDecay,
  });
  const scale = p.scale ?? 1 / Math.sqrt(dr);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < hr; h++) {
      const r = t * hr + h;
      for (let j = 0; j < k; j++) {
        if (f.sel[r * k + j] === Number.NEGATIVE_INFINITY) continue;
        const c = f.idx[r * k + j];
        const ds = dsel[r * k + j] * scale;
        axpy(ds, lmk, (c * hr + h) * dr, dqr, r * dr, dr);
        axpy(ds, qr, r * dr, dlmk, (c * hr + h) * dr, dr);
      }
    }
  }
}
