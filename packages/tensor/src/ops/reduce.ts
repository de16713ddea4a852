/** Reductions over one axis (sum, max, min, mean) of f32 tensors. */
import { ArgumentError, binaryScalar as binaryScalarKernel, reduce as reduceKernel, type ReduceOp, ShapeError } from '@hsa/kernels';
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
  const chunk = twoPassChunk(outer * inner, r);
  if (chunk === 0) x.backend.run(reduceKernel, { op, outer, r, inner }, [xc.arg(), out.arg()]);
  else {
    // pass 1: partials [outer, nb, inner] over runs of `chunk`; pass 2: the partials, in order
    const nb = Math.ceil(r / chunk);
    const part = Tensor.empty(x.backend, [outer, nb, inner], 'f32');
    x.backend.run(reduceKernel, { op: op === 'mean' ? 'sum' : op, outer, r, inner, chunk }, [xc.arg(), part.arg()]);
    const tot = op === 'mean' ? Tensor.empty(x.backend, shape, 'f32') : out;
    x.backend.run(reduceKernel, { op: op === 'mean' ? 'sum' : op, outer, r: nb, inner }, [part.arg(), tot.arg()]);
    if (tot !== out) {
      x.backend.run(binaryScalarKernel, { op: 'div', n: out.size, scalar: r }, [tot.arg(), out.arg()]);
      tot.dispose();
    }
    part.dispose();
  }
  xc.dispose();
  return out;
}

/** Workgroups the first pass aims for when a long axis has few outputs. */
const TARGET_WORKGROUPS = 1024;

/**
 * The run length of a two-pass reduction (0: one pass). A long axis (≥ 2¹⁵) with fewer outputs than
 * TARGET_WORKGROUPS / 4 would leave most of the device idle with one workgroup per output.
 */
export function twoPassChunk(outputs: number, r: number): number {
  if (r < 1 << 15 || outputs * 4 >= TARGET_WORKGROUPS) return 0;
  const nb = Math.min(Math.ceil(r / 4096), Math.ceil(TARGET_WORKGROUPS / outputs));
  return Math.ceil(r / nb);
}

export const sum = (x: Tensor, axis: number, options?: ReduceOptions) => reduce('sum', x, axis, options);
export const mean = (x: Tensor, axis: number, options?: ReduceOptions) => reduce('mean', x, axis, options);
export const max = (x: Tensor, axis: number, options?: ReduceOptions) => reduce('max', x, axis, options);
export const min = (x: Tensor, axis: number, options?: ReduceOptions) => reduce('min', x, axis, options);
