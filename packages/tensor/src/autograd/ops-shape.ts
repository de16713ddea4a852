/** Differentiable shape ops and reductions: reshape, permute, transpose, contiguous, slice, concat, unbind, sum, mean. */
import { scale as scaleBy } from '../ops/binary.js';
import * as cp from '../ops/copy.js';
import { fill } from '../ops/fill.js';
import * as red from '../ops/reduce.js';
import { resolveAxis } from '../ops/reduce.js';
import { copyInto, entry, type Shape, Tensor } from '../tensor.js';
import { broadcastTo } from './ops-elementwise.js';
import { keep, record, recordMulti, shouldRecord } from './tape.js';

/** Same elements, new shape (see Tensor.reshape). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const out = x.reshape(shape);
  if (!shouldRecord(x)) return out;
  return record({ op: 'reshape', inputs: [x], output: out, saved: [], backward: (dy) => [dy.reshape(x.shape)] });
}

/** Permuted dims (a view; the gradient is permuted back and made contiguous). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const out = x.permute(dims);
  if (!shouldRecord(x)) return out;
  const inv = new Array<number>(dims.length);
  dims.forEach((d, i) => {
    inv[d] = i;
  });
  return record({
    op: 'permute',
    inputs: [x],
    output: out,
    saved: [],
    backward: (dy) => {
      const v = dy.permute(inv);
      const c = v.contiguous();
      v.dispose();
      return [c];
    },
  });
}

/** Two dims swapped (a view). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const dims = x.shape.map((_, i) => i);
  const ia = a < 0 ? a + x.rank : a;
  const ib = b < 0 ? b + x.rank : b;
  [dims[ia], dims[ib]] = [dims[ib], dims[ia]];
  return permute(x, dims);
}

/** A contiguous copy (or view) with identity gradient. */
export function contiguous(x: Tensor): Tensor {
  const out = x.contiguous();
  if (!shouldRecord(x)) return out;
  return record({ op: 'contiguous', inputs: [x], output: out, saved: [], backward: (dy) => [keep(dy)] });
}

/** Elements start ≤ i < end along `axis` (a view); the gradient is dy placed in zeros of x's shape. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const out = x.slice(axis, start, end);
  if (!shouldRecord(x)) return out;
  return record({
    op: 'slice',
    inputs: [x],
    output: out,
    saved: [],
    backward: (dy) => {
      const g = fill(dy.backend, x.shape, 0);
      const dst = g.slice(axis, start, end);
      copyInto(dy, dst);
      dst.dispose();
      return [g];
    },
  });
}

/** Tensors joined along `axis` (see ops/copy concat); each gets its slice of dy. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  const out = cp.concat(xs, axis);
  if (!shouldRecord(...xs)) return out;
  const ax = axis < 0 ? axis + out.rank : axis;
  const starts = xs.map((_, i) => xs.slice(0, i).reduce((s, t) => s + t.shape[ax], 0));
  return record({
    op: 'concat',
    inputs: [...xs],
    output: out,
    saved: [],
    backward: (dy) => xs.map((t, i) => cp.sliceCopy(dy, ax, starts[i], starts[i] + t.shape[ax])),
  });
}

/** Where a tensor recorded by ag.unbind came from: an op over several entries may take their source. */
const unbound = new WeakMap<Tensor, { source: Tensor; axis: number; index: number }>();

/** The source x of `a` = unbind(x, 0)[0] and `b` = unbind(x, 0)[1] with x.shape[0] == 2, else undefined. */
export function unboundPair(a: Tensor, b: Tensor): Tensor | undefined {
  const [pa, pb] = [unbound.get(a), unbound.get(b)];
  const ok = pa && pb && pa.source === pb.source && pa.axis === 0 && pb.axis === 0 && pa.index === 0 && pb.index === 1 && pa.source.shape[0] === 2;
  return ok ? pa.source : undefined;
}

/**
 * The entries of x along `axis`, each without that dim (views: no copy), as torch.unbind. One tape
 * node for all of them: the backward writes their gradients side by side into one tensor of x's
 * shape (zeros for entries no gradient reached), so a fused producer (ag.matmul of one input with a
 * batch of weights) receives one gradient instead of a sum of zero-padded slices.
 */
export function unbind(x: Tensor, axis = 0): Tensor[] {
  const ax = resolveAxis('unbind', axis, x.shape);
  const outs = Array.from({ length: x.shape[ax] }, (_, i) => entry(x, ax, i));
  if (!shouldRecord(x)) return outs;
  outs.forEach((o, index) => {
    unbound.set(o, { source: x, axis: ax, index });
  });
  return recordMulti({
    op: 'unbind',
    inputs: [x],
    outputs: outs,
    saved: [],
    backward: (dys) => {
      const g = dys.every((d) => d !== undefined) ? Tensor.empty(x.backend, x.shape, 'f32') : fill(x.backend, x.shape, 0);
      dys.forEach((d, i) => {
        if (!d) return;
        // a slice of g keeps its dim (reshaping a strided view would copy it): d gains it instead
        const dst = g.slice(ax, i, i + 1);
        const src = d.reshape(dst.shape);
        copyInto(src, dst);
        for (const t of [dst, src]) t.dispose();
      });
      return [g];
    },
  });
}

/** dy (the reduced shape, with or without the kept dim) broadcast back over x's shape. */
function reduceGrad(x: Tensor, axis: number, dy: Tensor): Tensor {
  const ax = resolveAxis('sum', axis, x.shape);
  const dk = dy.reshape(x.shape.map((d, i) => (i === ax ? 1 : d)));
  const g = broadcastTo(dk, x.shape);
  dk.dispose();
  return g;
}

/** Σ over `axis`. */
export function sum(x: Tensor, axis: number, options: red.ReduceOptions = {}): Tensor {
  const out = red.sum(x, axis, options);
  if (!shouldRecord(x)) return out;
  return record({ op: 'sum', inputs: [x], output: out, saved: [], backward: (dy) => [reduceGrad(x, axis, dy)] });
}

/** Mean over `axis`. */
export function mean(x: Tensor, axis: number, options: red.ReduceOptions = {}): Tensor {
  const out = red.mean(x, axis, options);
  if (!shouldRecord(x)) return out;
  const r = x.shape[resolveAxis('mean', axis, x.shape)];
  return record({
    op: 'mean',
    inputs: [x],
    output: out,
    saved: [],
    backward: (dy) => {
      const g = reduceGrad(x, axis, dy);
      const s = scaleBy(g, 1 / r);
      g.dispose();
      return [s];
    },
  });
}
