/** Differentiable elementwise ops (NumPy broadcasting: gradients are summed over broadcast dims). */
import * as ops from '../ops/binary.js';
import { sum } from '../ops/reduce.js';
import { numel, type Shape, Tensor } from '../tensor.js';
import { keep, record, shouldRecord } from './tape.js';

/** g summed down to `shape` (the shape of an operand g was broadcast from). Consumes g. */
export function reduceToShape(g: Tensor, shape: Shape): Tensor {
  let cur = g;
  const lead = g.rank - shape.length;
  if (lead > 0) {
    const flat = cur.reshape([numel(g.shape.slice(0, lead)), ...shape.map((_, i) => g.shape[lead + i])]);
    cur.dispose();
    cur = sum(flat, 0);
    flat.dispose();
  }
  for (let k = 0; k < shape.length; k++) {
    if (shape[k] === 1 && cur.shape[k] !== 1) {
      const next = sum(cur, k, { keepDims: true });
      cur.dispose();
      cur = next;
    }
  }
  return cur;
}

/** a + b */
export function add(a: Tensor, b: Tensor): Tensor {
  const out = ops.add(a, b);
  if (!shouldRecord(a, b)) return out;
  return record({
    op: 'add',
    inputs: [a, b],
    output: out,
    saved: [],
    backward: (dy) => [reduceToShape(keep(dy), a.shape), reduceToShape(keep(dy), b.shape)],
  });
}

/** a − b */
export function sub(a: Tensor, b: Tensor): Tensor {
  const out = ops.sub(a, b);
  if (!shouldRecord(a, b)) return out;
  return record({
    op: 'sub',
    inputs: [a, b],
    output: out,
    saved: [],
    backward: (dy) => [reduceToShape(keep(dy), a.shape), reduceToShape(ops.scale(dy, -1), b.shape)],
  });
}

/** a ⊙ b */
export function mul(a: Tensor, b: Tensor): Tensor {
  const out = ops.mul(a, b);
  if (!shouldRecord(a, b)) return out;
  const sa = keep(a);
  const sb = keep(b);
  return record({
    op: 'mul',
    inputs: [a, b],
    output: out,
    saved: [sa, sb],
    backward: (dy) => [reduceToShape(ops.mul(dy, sb), a.shape), reduceToShape(ops.mul(dy, sa), b.shape)],
  });
}

/** x · s */
export function scale(x: Tensor, s: number): Tensor {
  const out = ops.scale(x, s);
  if (!shouldRecord(x)) return out;
  return record({ op: 'scale', inputs: [x], output: out, saved: [], backward: (dy) => [ops.scale(dy, s)] });
}

/** x + s */
export function addScalar(x: Tensor, s: number): Tensor {
  const out = ops.addScalar(x, s);
  if (!shouldRecord(x)) return out;
  return record({ op: 'addScalar', inputs: [x], output: out, saved: [], backward: (dy) => [keep(dy)] });
}

/** A tensor of `shape` filled with dy broadcast (dy's shape broadcasts to `shape`). */
export function broadcastTo(dy: Tensor, shape: Shape): Tensor {
  const zeros = Tensor.from(dy.backend, new Float32Array(numel(shape)), shape);
  const out = ops.add(zeros, dy);
  zeros.dispose();
  return out;
}
