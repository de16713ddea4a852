/** Elementwise binary ops over f32 tensors with NumPy broadcasting, and their scalar forms. */
import {
  BINARY_MAX_RANK,
  type BinaryOp,
  binary as binaryKernel,
  binaryScalar as binaryScalarKernel,
  ShapeError,
} from '@hsa/kernels';
import { contiguousStrides, fmtShape, type Shape, Tensor } from '../tensor.js';
import { expectDtype, sameBackend } from './guards.js';

/** NumPy broadcasting: align trailing dims; each pair must be equal or contain a 1. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let k = 0; k < rank; k++) {
    const da = a[a.length - rank + k] ?? 1;
    const db = b[b.length - rank + k] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast (dim ${k}: ${da} vs ${db})`);
    }
    out[k] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of a contiguous `shape` read as `out` (right-aligned), 0 on broadcast dims. */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const s = contiguousStrides(shape);
  const lead = out.length - shape.length;
  return out.map((_, k) => (k < lead || shape[k - lead] === 1 ? 0 : s[k - lead]));
}

/** out = f(a, b) elementwise with broadcasting; a number b uses the scalar kernel. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor | number): Tensor {
  expectDtype(op, a, 'f32');
  if (typeof b === 'number') return binaryScalar(op, a, b);
  expectDtype(op, b, 'f32');
  sameBackend(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  if (shape.length > BINARY_MAX_RANK) {
    throw new ShapeError(`${op}: ${fmtShape(a.shape)} with ${fmtShape(b.shape)} has rank ${shape.length} > ${BINARY_MAX_RANK}; reshape first`);
  }
  const out = Tensor.empty(a.backend, shape, 'f32');
  if (out.size === 0) return out;
  const ac = a.bindable();
  const bc = b.bindable();
  const params = { op, shape, aStrides: broadcastStrides(a.shape, shape), bStrides: broadcastStrides(b.shape, shape) };
  a.backend.run(binaryKernel, params, [ac.arg(), bc.arg(), out.arg()]);
  ac.dispose();
  bc.dispose();
  return out;
}

/** out = f(x, s) elementwise; s is rounded to f32 (the value both backends compute with). */
export function binaryScalar(op: BinaryOp, x: Tensor, s: number): Tensor {
  expectDtype(op, x, 'f32');
  const out = Tensor.empty(x.backend, x.shape, 'f32');
  if (out.size === 0) return out;
  const xc = x.bindable();
  x.backend.run(binaryScalarKernel, { op, n: x.size, scalar: Math.fround(s) }, [xc.arg(), out.arg()]);
  xc.dispose();
  return out;
}

export const add = (a: Tensor, b: Tensor | number) => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor | number) => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor | number) => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor | number) => binary('div', a, b);
export const maximum = (a: Tensor, b: Tensor | number) => binary('max', a, b);
export const minimum = (a: Tensor, b: Tensor | number) => binary('min', a, b);
export const pow = (a: Tensor, b: Tensor | number) => binary('pow', a, b);
/** x · s */
export const scale = (x: Tensor, s: number) => binaryScalar('mul', x, s);
/** x + s */
export const addScalar = (x: Tensor, s: number) => binaryScalar('add', x, s);
