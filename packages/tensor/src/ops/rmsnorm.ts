/** RMSNorm over the last axis, with an f32 or packed f16/bf16 weight. */
import { ArgumentError, rmsNorm as rmsNormKernel, ShapeError } from '@hsa/kernels';
import { fmtShape, Tensor } from '../tensor.js';
import { expectDtype, sameBackend } from './guards.js';

/**
 * y = weight ⊙ x / sqrt(mean(x²) + eps) over the last axis of f32 `x`; `weight` has shape [D] (D the
 * last dim) and dtype f32, f16 or bf16 (read from packed storage, computed in f32), output f32.
 *
 * Per-head RMSNorm (q/k norm, weight [Dh] shared by H heads of x [..., H·Dh]) is this op on a
 * reshaped tensor: `rmsNorm(x.reshape([...lead, H, Dh]), w, eps).reshape(x.shape)`.
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  expectDtype('rmsNorm', x, 'f32');
  expectDtype('rmsNorm', weight, 'f32', 'f16', 'bf16');
  sameBackend('rmsNorm', x, weight);
  const n = x.shape[x.rank - 1];
  if (x.rank === 0 || weight.rank !== 1 || weight.shape[0] !== n) {
    throw new ShapeError(`rmsNorm: weight ${fmtShape(weight.shape)} must be [D] with D the last dim of x ${fmtShape(x.shape)}`);
  }
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new ArgumentError(`rmsNorm: eps must be finite and ≥ 0, got ${eps}`);
  const out = Tensor.empty(x.backend, x.shape, 'f32');
  if (out.size === 0) return out;
  const xc = x.bindable();
  const wc = weight.contiguous();
  const params = { rows: x.size / n, n, eps: Math.fround(eps), wDtype: weight.dtype as 'f32' | 'f16' | 'bf16' };
  x.backend.run(rmsNormKernel, params, [xc.arg(), wc.arg(), out.arg()]);
  xc.dispose();
  wc.dispose();
  return out;
}
