/** dtype conversion. */
import { cast as castKernel, type DType, DTypeError } from '@hsa/kernels';
import { fmtShape, Tensor } from '../tensor.js';
import { expectDtype } from './guards.js';

type CastType = 'f32' | 'i32' | 'f16' | 'bf16';
const TARGETS: readonly DType[] = ['f32', 'i32', 'f16', 'bf16'];

/**
 * x converted to `dtype` (f32, i32, f16, bf16): f16/bf16 round to nearest even exactly as
 * f32ToF16 / f32ToBf16 (subnormals, ±∞, NaN kept); i32 → f32 rounds to nearest even; f32 → i32
 * truncates toward zero and saturates, NaN → 0. The same dtype gives a contiguous copy.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  expectDtype('cast', x, 'f32', 'i32', 'f16', 'bf16');
  if (!TARGETS.includes(dtype)) {
    throw new DTypeError(`cast: cannot cast ${x.dtype} tensor of shape ${fmtShape(x.shape)} to ${dtype} (targets: ${TARGETS.join(', ')})`);
  }
  const xc = x.contiguous();
  if (dtype === x.dtype) return xc;
  const out = Tensor.empty(x.backend, x.shape, dtype);
  if (x.size > 0) x.backend.run(castKernel, { n: x.size, from: x.dtype as CastType, to: dtype as CastType }, [xc.arg(), out.arg()]);
  xc.dispose();
  return out;
}
