/** Shape, dtype and device guards that open every op; messages name the op and the shapes. */
import { BackendError, type DType, DTypeError } from '@hsa/kernels';
import { fmtShape, type Tensor } from '../tensor.js';

export function sameBackend(op: string, ...ts: Tensor[]): void {
  const b = ts[0].backend;
  for (const t of ts) {
    if (t.backend !== b) {
      throw new BackendError(`${op}: tensors live on different backends/devices (${ts.map(String).join(', ')})`);
    }
  }
}

export function expectDtype(op: string, t: Tensor, ...allowed: DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new DTypeError(`${op}: got ${t.dtype} tensor of shape ${fmtShape(t.shape)}, expected ${allowed.join(' or ')}`);
  }
}
