/** Softmax over the last axis of an f32 tensor. */
import { softmax as softmaxKernel, ShapeError } from '@hsa/kernels';
import { fmtShape, Tensor } from '../tensor.js';
import { expectDtype } from './guards.js';

/**
 * y = exp(x − max) / Σ exp(x − max) over the last axis (for another axis, transpose it last first).
 * A row of all −inf gives NaN, as in PyTorch.
 */
export function softmax(x: Tensor): Tensor {
  expectDtype('softmax', x, 'f32');
  if (x.rank === 0) throw new ShapeError(`softmax: needs rank ≥ 1, got shape ${fmtShape(x.shape)}`);
  const n = x.shape[x.rank - 1];
  const out = Tensor.empty(x.backend, x.shape, 'f32');
  if (out.size === 0) return out;
  const xc = x.contiguous();
  x.backend.run(softmaxKernel, { rows: x.size / n, n }, [xc.arg(), out.arg()]);
  xc.dispose();
  return out;
}
