/**
 * Differentiable NN ops: softmax, rmsNorm, swiglu, rope, embedding and the fused cross-entropy. Each
 * backward is one WGSL kernel (or the forward kernel run as its own inverse, for rope).
 */
import { ArgumentError } from '@hsa/kernels';
import { div, mul, scale } from '../ops/binary.js';
import { type CrossEntropyRows, crossEntropyDenom, crossEntropyRows } from '../ops/crossEntropy.js';
import { embedding as embeddingOp } from '../ops/embedding.js';
import { sum } from '../ops/reduce.js';
import { rmsNorm as rmsNormOp } from '../ops/rmsnorm.js';
import { type RopeOptions, rope as ropeOp } from '../ops/rope.js';
import { softmax as softmaxOp } from '../ops/softmax.js';
import { swiglu as swigluOp } from '../ops/swiglu.js';
import { Tensor } from '../tensor.js';
import { embeddingBackward, rmsNormBackward, softmaxBackward, swigluBackward } from './backward-ops.js';
import { unboundPair } from './ops-shape.js';
import { keep, record, shouldRecord } from './tape.js';

/** softmax over the last axis; backward from the saved output. */
export function softmax(x: Tensor): Tensor {
  const out = softmaxOp(x);
  if (!shouldRecord(x)) return out;
  const y = keep(out);
  return record({ op: 'softmax', inputs: [x], output: out, saved: [y], backward: (dy) => [softmaxBackward(y, dy)] });
}

/** rmsNorm over the last axis with an f32 weight; gradients for x and the weight. */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  const out = rmsNormOp(x, weight, eps);
  if (!shouldRecord(x, weight)) return out;
  const sx = keep(x);
  const sw = keep(weight);
  return record({
    op: 'rmsNorm',
    inputs: [x, weight],
    output: out,
    saved: [sx, sw],
    backward: (dy) => {
      const { dx, dw } = rmsNormBackward(sx, sw, dy, eps);
      return [dx, dw];
    },
  });
}

/** silu(gate) ⊙ up. */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  const out = swigluOp(gate, up);
  if (!shouldRecord(gate, up)) return out;
  const sg = keep(gate);
  const su = keep(up);
  // gate, up = ag.unbind(gu) (a fused gate / up projection): the backward writes gu's gradient in one
  // tensor, so unbind's node has nothing to join
  const gu = unboundPair(gate, up);
  if (gu) {
    return record({
      op: 'swiglu',
      inputs: [gu],
      output: out,
      saved: [sg, su],
      backward: (dy) => {
        const g = Tensor.empty(gu.backend, gu.shape, 'f32');
        const { dgate, dup } = swigluBackward(sg, su, dy, g);
        dgate.dispose();
        dup.dispose();
        return [g];
      },
    });
  }
  return record({
    op: 'swiglu',
    inputs: [gate, up],
    output: out,
    saved: [sg, su],
    backward: (dy) => {
      const { dgate, dup } = swigluBackward(sg, su, dy);
      return [dgate, dup];
    },
  });
}

/**
 * Rotary embedding; the gradient is the inverse rotation (rope with `negate`: the angles at −pos are
 * exactly the negated ones at every position, |pos| ≤ 2³⁰, offset or tensor positions alike).
 */
export function rope(x: Tensor, options: RopeOptions = {}): Tensor {
  const out = ropeOp(x, options);
  if (!shouldRecord(x)) return out;
  // the backward reads the positions: a view of its own, so the caller may dispose theirs
  const pos = options.positions ? keep(options.positions) : undefined;
  const opts = { ...options, positions: pos };
  return record({
    op: 'rope',
    inputs: [x],
    output: out,
    saved: pos ? [pos] : [],
    backward: (dy) => [ropeOp(dy, { ...opts, negate: !opts.negate })],
  });
}

/** Table rows by i32 id; the table's gradient is a deterministic scatter-add. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  const out = embeddingOp(table, ids);
  if (!shouldRecord(table)) return out;
  if (table.dtype !== 'f32') throw new ArgumentError(`ag.embedding: a trained table must be f32, got ${table.dtype}`);
  const sid = keep(ids);
  const vocab = table.shape[0];
  return record({ op: 'embedding', inputs: [table], output: out, saved: [sid], backward: (dy) => [embeddingBackward(sid, dy, vocab)] });
}

/**
 * Mean cross-entropy (a scalar, shape []) of logits [..., V] against i32 targets [...] over the rows
 * whose target lies in [0, V); 0 when none does. The gradient is formed in the forward pass (kernel
 * fused with the loss, already divided by the count of rows), so the logits need not be kept and the
 * backward from the loss itself (the seed 1 of `backward`) passes it on as it is; another known
 * seed scales it by a scalar, any other upstream gradient multiplies it.
 */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  const recording = shouldRecord(logits);
  const denom = crossEntropyDenom(targets, logits.shape[logits.rank - 1] ?? 0);
  let rows: CrossEntropyRows;
  try {
    rows = crossEntropyRows(logits, targets, recording ? denom : undefined);
  } catch (e) {
    denom.dispose();
    throw e;
  }
  const { loss, dlogits, valid } = rows;
  const flatL = loss.reshape([-1]);
  const total = sum(flatL, 0);
  const out = div(total, denom);
  for (const t of [loss, valid, flatL, total, denom]) t.dispose();
  if (!recording) {
    dlogits.dispose();
    return out;
  }
  return record({
    op: 'crossEntropy',
    inputs: [logits],
    output: out,
    saved: [dlogits],
    backward: (dy, dyValue) => [dyValue === 1 ? keep(dlogits) : dyValue !== undefined ? scale(dlogits, dyValue) : mul(dlogits, dy)],
  });
}
