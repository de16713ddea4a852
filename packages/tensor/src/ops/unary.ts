/** Elementwise unary ops over f32 tensors. */
import { unary as unaryKernel, type UnaryOp } from '@hsa/kernels';
import { Tensor } from '../tensor.js';
import { expectDtype } from './guards.js';

/** out = f(x) elementwise; `op` names f (exp, silu, rsqrt, ...). */
export function unary(op: UnaryOp, x: Tensor): Tensor {
  expectDtype(op, x, 'f32');
  const xc = x.bindable();
  const out = Tensor.empty(x.backend, x.shape, 'f32');
  x.backend.run(unaryKernel, { op, n: x.size }, [xc.arg(), out.arg()]);
  xc.dispose();
  return out;
}

export const exp = (x: Tensor) => unary('exp', x);
export const silu = (x: Tensor) => unary('silu', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
