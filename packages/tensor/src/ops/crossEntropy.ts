/** Cross-entropy over the last axis fused with its gradient (the softmax is formed once). */
import { crossEntropyDenom as crossEntropyDenomKernel, crossEntropy as crossEntropyKernel, ShapeError } from '@hsa/kernels';
import { fmtShape, Tensor } from '../tensor.js';
import { expectDtype, sameBackend } from './guards.js';

export interface CrossEntropyRows {
  /** per-row loss logsumexp(x) − x[target], 0 for masked rows; shape = targets' shape */
  loss: Tensor;
  /**
   * softmax(x) − onehot(target) per row (0 rows where masked), divided by `denom` where one was
   * given (the mean loss's gradient); shape = logits' shape
   */
  dlogits: Tensor;
  /** 1 where the row counts, 0 where its target is outside [0, V) (e.g. −100); shape = targets' */
  valid: Tensor;
}

/**
 * Per-row cross-entropy of logits [..., V] against i32 targets [...], and dloss_r/dlogits_r; a target
 * outside [0, V) masks its row (the ignore index, e.g. −100).
 */
export function crossEntropyRows(logits: Tensor, targets: Tensor, denom?: Tensor): CrossEntropyRows {
  expectDtype('crossEntropy', logits, 'f32');
  expectDtype('crossEntropy targets', targets, 'i32');
  sameBackend('crossEntropy', logits, targets);
  const v = logits.shape[logits.rank - 1];
  const lead = logits.shape.slice(0, -1);
  if (logits.rank < 1 || targets.rank !== lead.length || targets.shape.some((d, i) => d !== lead[i])) {
    throw new ShapeError(`crossEntropy: targets ${fmtShape(targets.shape)} must be the leading dims of logits ${fmtShape(logits.shape)}`);
  }
  if (denom) {
    expectDtype('crossEntropy denom', denom, 'f32');
    sameBackend('crossEntropy', logits, denom);
    if (denom.size !== 1) throw new ShapeError(`crossEntropy: denom must hold one value, got ${fmtShape(denom.shape)}`);
  }
  const rows = targets.size;
  const loss = Tensor.empty(logits.backend, targets.shape, 'f32');
  const dlogits = Tensor.empty(logits.backend, logits.shape, 'f32');
  const valid = Tensor.empty(logits.backend, targets.shape, 'f32');
  if (rows > 0) {
    const xc = logits.contiguous();
    const tc = targets.contiguous();
    const dc = denom?.contiguous();
    const ins = dc ? [xc.arg(), tc.arg(), dc.arg()] : [xc.arg(), tc.arg()];
    logits.backend.run(crossEntropyKernel, { rows, v, scaled: dc !== undefined }, [...ins, loss.arg(), dlogits.arg(), valid.arg()]);
    for (const t of [xc, tc, dc]) t?.dispose();
  }
  return { loss, dlogits, valid };
}

/** max(1, the number of targets in [0, V)) as a scalar f32 tensor: the mean cross-entropy's divisor. */
export function crossEntropyDenom(targets: Tensor, v: number): Tensor {
  expectDtype('crossEntropy targets', targets, 'i32');
  const out = Tensor.empty(targets.backend, [], 'f32');
  const tc = targets.contiguous();
  targets.backend.run(crossEntropyDenomKernel, { rows: targets.size, v }, [tc.arg(), out.arg()]);
  tc.dispose();
  return out;
}
