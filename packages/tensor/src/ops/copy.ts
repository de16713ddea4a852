/** Copy ops over the stridedCopy kernel: concat, and materialized slices and transposes. */
import { ArgumentError, isPacked16, ShapeError } from '@hsa/kernels';
import { copyInto, fmtShape, Tensor } from '../tensor.js';
import { sameBackend } from './guards.js';

/** Tensors joined along `axis` (negative counts from the end); all other dims and the dtype must match. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ArgumentError('concat: needs at least one tensor');
  const first = tensors[0];
  const shapes = tensors.map((t) => fmtShape(t.shape)).join(', ');
  const ax = axis < 0 ? axis + first.rank : axis;
  if (ax < 0 || ax >= first.rank) throw new ArgumentError(`concat: axis ${axis} out of range for ${shapes}`);
  sameBackend('concat', ...tensors);
  for (const t of tensors) {
    const same = t.rank === first.rank && t.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!same) throw new ShapeError(`concat: shapes ${shapes} differ outside axis ${axis}`);
    if (t.dtype !== first.dtype) throw new ShapeError(`concat: dtypes ${tensors.map((u) => u.dtype).join(', ')} differ (${shapes})`);
  }
  if (isPacked16(first.dtype) && ax !== 0) {
    throw new ArgumentError(`concat: packed ${first.dtype} only joins along axis 0 (${shapes}); cast to f32 first`);
  }
  const shape = [...first.shape];
  shape[ax] = tensors.reduce((s, t) => s + t.shape[ax], 0);
  const out = Tensor.empty(first.backend, shape, first.dtype);
  let at = 0;
  for (const t of tensors) {
    const len = t.shape[ax];
    if (isPacked16(t.dtype)) at = copyPackedRows(t, out, at);
    else {
      const dst = out.slice(ax, at, at + len);
      copyInto(t, dst);
      dst.dispose();
      at += len;
    }
  }
  return out;
}

/** Packed 16-bit rows: a byte copy when both ends are word aligned, else the halves do not line up. */
function copyPackedRows(t: Tensor, out: Tensor, at: number): number {
  const rowElems = t.size / Math.max(t.shape[0], 1);
  const start = at * rowElems;
  if ((start & 1) !== 0 || (t.size & 1) !== 0) {
    throw new ArgumentError(`concat: packed ${t.dtype} parts must hold an even number of elements at even offsets (${fmtShape(t.shape)})`);
  }
  const c = t.contiguous();
  if (t.size > 0) t.backend.copy(c.storage, 0, out.storage, start * 2, t.size * 2);
  c.dispose();
  return at + t.shape[0];
}

/** Elements start ≤ i < end along `axis`, as a new contiguous tensor (`slice` is the view). */
export function sliceCopy(x: Tensor, axis: number, start: number, end: number): Tensor {
  const v = x.slice(axis, start, end);
  const c = v.contiguous();
  v.dispose();
  return c;
}

/** x with dims a and b swapped, as a new contiguous tensor (`transpose` is the view). */
export function transposeCopy(x: Tensor, a = -2, b = -1): Tensor {
  const v = x.transpose(a, b);
  const c = v.contiguous();
  v.dispose();
  return c;
}
