/**
 * Differentiable math ops: div, maximum, minimum (NumPy broadcasting; one binaryBackward kernel gives
 * both operand gradients over the output shape, then each is summed down to its operand), and exp,
 * sigmoid, silu, pow with a scalar exponent (one unaryBackward kernel each). maximum / minimum split
 * dy evenly between tied operands (PyTorch's rule), so the result is deterministic.
 */
import { binaryBackward, type BinaryBackwardOp, ShapeError, unaryBackward, type UnaryBackwardOp } from '@hsa/kernels';
import * as bin from '../ops/binary.js';
import { broadcastShapes, broadcastStrides } from '../ops/binary.js';
import { fill } from '../ops/fill.js';
import { sameBackend } from '../ops/guards.js';
import * as un from '../ops/unary.js';
import { fmtShape, Tensor } from '../tensor.js';
import { reduceToShape } from './ops-elementwise.js';
import { keep, record, shouldRecord } from './tape.js';

/** { da, db } of out = op(a, b), each of its operand's shape. */
export function binaryGrads(op: BinaryBackwardOp, a: Tensor, b: Tensor, dy: Tensor): { da: Tensor; db: Tensor } {
  sameBackend(`${op}Backward`, a, b, dy);
  const shape = broadcastShapes(op, a.shape, b.shape);
  if (dy.rank !== shape.length || dy.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${op}Backward: dy ${fmtShape(dy.shape)} must be the broadcast shape ${fmtShape(shape)}`);
  }
  const da = Tensor.empty(a.backend, shape, 'f32');
  const db = Tensor.empty(a.backend, shape, 'f32');
  if (da.size > 0) {
    const cs = [a, b, dy].map((t) => t.contiguous());
    const params = { op, shape, aStrides: broadcastStrides(a.shape, shape), bStrides: broadcastStrides(b.shape, shape) };
    a.backend.run(binaryBackward, params, [...cs.map((c) => c.arg()), da.arg(), db.arg()]);
    for (const c of cs) c.dispose();
  }
  return { da: reduceToShape(da, a.shape), db: reduceToShape(db, b.shape) };
}

/** dx of y = op(x) (pow: y = x^p), from x and/or y. */
export function unaryGrad(op: UnaryBackwardOp, x: Tensor, y: Tensor, dy: Tensor, p = 0): Tensor {
  sameBackend(`${op}Backward`, x, y, dy);
  if (x.size !== dy.size || y.size !== dy.size) {
    throw new ShapeError(`${op}Backward: x ${fmtShape(x.shape)}, y ${fmtShape(y.shape)} and dy ${fmtShape(dy.shape)} must match`);
  }
  const dx = Tensor.empty(x.backend, x.shape, 'f32');
  if (dx.size > 0) {
    const cs = [x, y, dy].map((t) => t.contiguous());
    x.backend.run(unaryBackward, { op, n: dx.size, p: Math.fround(p) }, [...cs.map((c) => c.arg()), dx.arg()]);
    for (const c of cs) c.dispose();
  }
  return dx;
}

/** A number operand as a rank-0 tensor (broadcast to any shape; it gets no gradient). */
function operand(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? fill(a.backend, [], b) : b;
}

function recordBinary(op: BinaryBackwardOp, a: Tensor, b: Tensor | number, out: Tensor): Tensor {
  if (!shouldRecord(a, typeof b === 'number' ? undefined : b)) return out;
  const bt = operand(a, b);
  const [sa, sb] = [keep(a), typeof b === 'number' ? bt : keep(bt)];
  return record({
    op,
    inputs: [a, bt],
    output: out,
    saved: [sa, sb],
    backward: (dy) => {
      const { da, db } = binaryGrads(op, sa, sb, dy);
      return [da, db];
    },
  });
}

/** a / b */
export function div(a: Tensor, b: Tensor | number): Tensor {
  return recordBinary('div', a, b, bin.div(a, b));
}

/** Elementwise max(a, b); a tie sends dy/2 to each operand. */
export function maximum(a: Tensor, b: Tensor | number): Tensor {
  return recordBinary('max', a, b, bin.maximum(a, b));
}

/** Elementwise min(a, b); a tie sends dy/2 to each operand. */
export function minimum(a: Tensor, b: Tensor | number): Tensor {
  return recordBinary('min', a, b, bin.minimum(a, b));
}

/** Records y = f(x); `fromOutput` keeps y for the backward, else x. */
function recordUnary(op: UnaryBackwardOp, x: Tensor, out: Tensor, fromOutput: boolean, p = 0): Tensor {
  if (!shouldRecord(x)) return out;
  const s = keep(fromOutput ? out : x);
  return record({ op, inputs: [x], output: out, saved: [s], backward: (dy) => [unaryGrad(op, s, s, dy, p)] });
}

/** eˣ (the backward uses the output). */
export function exp(x: Tensor): Tensor {
  return recordUnary('exp', x, un.exp(x), true);
}

/** 1 / (1 + e⁻ˣ) (the backward uses the output). */
export function sigmoid(x: Tensor): Tensor {
  return recordUnary('sigmoid', x, un.sigmoid(x), true);
}

/** x·sigmoid(x) (the backward uses the input). */
export function silu(x: Tensor): Tensor {
  return recordUnary('silu', x, un.silu(x), false);
}

/** xᵖ for a scalar p (NumPy pow: NaN for x < 0 with a non-integer p). */
export function pow(x: Tensor, p: number): Tensor {
  return recordUnary('pow', x, bin.pow(x, p), false, Math.fround(p));
}
