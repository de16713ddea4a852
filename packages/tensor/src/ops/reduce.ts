/** Reductions over one axis (sum, max, min, mean) of f32 tensors. */
import { ArgumentError, reduce as reduceKernel, type ReduceOp, ShapeError } from '@hsa/kernels';
import { fmtShape, numel, Tensor } from '../tensor.js';
import { expectDtype } from './guards.js';

export interface ReduceOptions {
  /** keep the reduced axis as a dim of size 1 (default false) */
  keepDims?: boolean;
}

/** Resolves a possibly negative axis of a rank-`rank` tensor, or throws an ArgumentError. */
export function resolveAxis(op: string, axis: number, shape: readonly number[]): number {
  const rank = shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ArgumentError(`${op}: axis ${axis} is out of range for shape ${fmtShape(shape)} (rank ${rank})`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** ⊕ over `axis` (x viewed as [outer, R, inner]); NaN handling in max/min follows the device's max/min. */
export function reduce(op: ReduceOp, x: Tensor, axis: number, options: ReduceOptions = {}): Tensor {
  expectDtype(op, x, 'f32');
  const ax = resolveAxis(op, axis, x.shape);
  const r = x.shape[ax];
  if (r === 0 && (op === 'max' || op === 'min')) {
    throw new ShapeError(`${op}: axis ${axis} of ${fmtShape(x.shape)} is empty and ${op} has no identity`);
  }
  const outer = numel(x.shape.slice(0, ax));
  const inner = numel(x.shape.slice(ax + 1));
  const shape = options.keepDims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  const out = Tensor.empty(x.backend, shape, 'f32');
  if (out.size === 0) return out;
  const xc = x.contiguous();
  x.backend.run(reduceKernel, { op, outer, r, inner }, [xc.arg(), out.arg()]);
  xc.dispose();
  return out;
}

export const sum = (x: Tensor, axis: number, options?: ReduceOptions) => reduce('sum', x, axis, options);
export const mean = (x: Tensor, axis: number, options?: ReduceOptions) => reduce('mean', x, axis, options);
export const max = (x: Tensor, axis: number, options?: ReduceOptions) => reduce('max', x, axis, options);
export const min = (x: Tensor, axis: number, options?: ReduceOptions) => reduce('min', x, axis, options);
