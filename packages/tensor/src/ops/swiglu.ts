/** Fused SwiGLU activation of f32 tensors. */
import { ShapeError, swiglu as swigluKernel } from '@hsa/kernels';
import { fmtShape, Tensor } from '../tensor.js';
import { expectDtype, sameBackend } from './guards.js';

/** silu(gate) ⊙ up elementwise, in one pass; gate and up have the same shape. */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  expectDtype('swiglu', gate, 'f32');
  expectDtype('swiglu', up, 'f32');
  sameBackend('swiglu', gate, up);
  if (gate.rank !== up.rank || gate.shape.some((d, i) => d !== up.shape[i])) {
    throw new ShapeError(`swiglu: gate ${fmtShape(gate.shape)} and up ${fmtShape(up.shape)} must have the same shape`);
  }
  const out = Tensor.empty(gate.backend, gate.shape, 'f32');
  if (out.size === 0) return out;
  const gc = gate.bindable();
  const uc = up.bindable();
  gate.backend.run(swigluKernel, { n: gate.size }, [gc.arg(), uc.arg(), out.arg()]);
  gc.dispose();
  uc.dispose();
  return out;
}
