/**
 * Tensor-level wrappers of the backward kernels (guards, contiguous inputs, fresh outputs), used by the
 * ag.* ops' backward closures; exported so a model can call them directly.
 */
import {
  embeddingKeys,
  embeddingSegmentSum,
  rmsNormBackward as rmsNormBackwardKernel,
  rmsNormWeightGrad,
  ShapeError,
  softmaxBackward as softmaxBackwardKernel,
  swigluBackward as swigluBackwardKernel,
} from '@hsa/kernels';
import { fill } from '../ops/fill.js';
import { sum } from '../ops/reduce.js';
import { sortByKey } from '../ops/sortByKey.js';
import { expectDtype, sameBackend } from '../ops/guards.js';
import { copyInto, entry, fmtShape, Tensor } from '../tensor.js';

function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`${op}: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} must match`);
  }
}

/**
 * Runs `kernel` over bindable views (or contiguous copies) of `inputs` into `outputs`, disposing them.
 * `exact`: each output bound as its own range (outputs that share a storage: WebGPU forbids
 * overlapping writable bindings, and arg() binds a view at offset 0 with the rest of its storage).
 */
function runOn<P>(kernel: Parameters<Tensor['backend']['run']>[0], params: P, inputs: Tensor[], outputs: Tensor[], exact = false): void {
  const cs = inputs.map((t) => t.bindable());
  inputs[0].backend.run(kernel as never, params, [...cs.map((c) => c.arg()), ...outputs.map((o) => (exact ? o.argRange() : o.arg()))]);
  for (const c of cs) c.dispose();
}

/** dx of softmax over the last axis, from its output y and dy. */
export function softmaxBackward(y: Tensor, dy: Tensor): Tensor {
  expectDtype('softmaxBackward', y, 'f32');
  sameShape('softmaxBackward', y, dy);
  const n = y.shape[y.rank - 1];
  const dx = Tensor.empty(y.backend, y.shape, 'f32');
  if (dx.size > 0) runOn(softmaxBackwardKernel, { rows: y.size / n, n }, [y, dy], [dx]);
  return dx;
}

/** { dx, dw } of rmsNorm over the last axis (f32 weight). */
export function rmsNormBackward(x: Tensor, w: Tensor, dy: Tensor, eps: number): { dx: Tensor; dw: Tensor } {
  expectDtype('rmsNormBackward', w, 'f32');
  sameShape('rmsNormBackward', x, dy);
  sameBackend('rmsNormBackward', x, w, dy);
  const n = x.shape[x.rank - 1];
  const rows = x.size / Math.max(n, 1);
  const dx = Tensor.empty(x.backend, x.shape, 'f32');
  if (rows === 0 || n === 0) return { dx, dw: fill(x.backend, [n], 0) };
  const rstd = Tensor.empty(x.backend, [rows], 'f32');
  runOn(rmsNormBackwardKernel, { rows, n, eps: Math.fround(eps) }, [x, w, dy], [dx, rstd]);
  const dw = rmsNormDw(x, dy, rstd, rows, n);
  rstd.dispose();
  return { dx, dw };
}

/**
 * Rows per partial of the weight gradient (the partials are then summed over blocks): 16, so 4096
 * rows × 512 columns run as 131K threads (64 rows a thread left the H200 at ~20 µs for 16 MB).
 */
const DW_BLOCK = 16;

/** dw [n] = Σ_rows dy·x·rstd: one pass for ≤ DW_BLOCK rows, else partials per block of rows + a reduce. */
function rmsNormDw(x: Tensor, dy: Tensor, rstd: Tensor, rows: number, n: number): Tensor {
  const blocks = Math.ceil(rows / DW_BLOCK);
  const part = Tensor.empty(x.backend, [blocks, n], 'f32');
  runOn(rmsNormWeightGrad, { rows, n, block: DW_BLOCK }, [x, dy, rstd], [part]);
  const dw = blocks === 1 ? part.reshape([n]) : sum(part, 0);
  part.dispose();
  return dw;
}

/** { dgate, dup } of swiglu. */
export function swigluBackward(gate: Tensor, up: Tensor, dy: Tensor): { dgate: Tensor; dup: Tensor };
/** With `into` [2, ...gate's shape]: dgate and dup written into its two entries (views of it returned). */
export function swigluBackward(gate: Tensor, up: Tensor, dy: Tensor, into: Tensor): { dgate: Tensor; dup: Tensor };
export function swigluBackward(gate: Tensor, up: Tensor, dy: Tensor, into?: Tensor): { dgate: Tensor; dup: Tensor } {
  sameShape('swigluBackward', gate, up);
  sameShape('swigluBackward', gate, dy);
  if (into && (into.rank !== gate.rank + 1 || into.shape[0] !== 2 || into.shape.some((d, i) => i > 0 && d !== gate.shape[i - 1]))) {
    throw new ShapeError(`swigluBackward: into ${fmtShape(into.shape)} must be [2, ${fmtShape(gate.shape).slice(1)}`);
  }
  const entries = into ? [0, 1].map((i) => entry(into, 0, i)) : [];
  // entries the backend cannot bind where they are (unaligned offsets) are written through copies
  const direct = entries.length === 2 && entries.every((e) => e.bindsInPlace);
  const [dgate, dup] = direct ? entries : [0, 1].map(() => Tensor.empty(gate.backend, gate.shape, 'f32'));
  if (gate.size > 0) runOn(swigluBackwardKernel, { n: gate.size }, [gate, up, dy], [dgate, dup], direct);
  if (entries.length === 2 && !direct) {
    copyInto(dgate, entries[0]);
    copyInto(dup, entries[1]);
    for (const t of [dgate, dup]) t.dispose();
    return { dgate: entries[0], dup: entries[1] };
  }
  return { dgate, dup };
}

/**
 * dtable [vocab, d] of embedding(table, ids): a deterministic scatter-add of dy [..., d]: the tokens
 * sorted by id (stable radix sort), then one thread per (row, column) sums its run in token order.
 */
export function embeddingBackward(ids: Tensor, dy: Tensor, vocab: number): Tensor {
  expectDtype('embeddingBackward', ids, 'i32');
  const d = dy.shape[dy.rank - 1];
  if (dy.size !== ids.size * d) {
    throw new ShapeError(`embeddingBackward: dy ${fmtShape(dy.shape)} must be [...ids ${fmtShape(ids.shape)}, d]`);
  }
  const n = ids.size;
  if (n === 0 || d === 0 || vocab === 0) return fill(dy.backend, [vocab, d], 0);
  const key = Tensor.empty(dy.backend, [n], 'i32');
  runOn(embeddingKeys, { n, vocab }, [ids], [key]);
  const { order, starts } = sortByKey(key, vocab);
  const out = Tensor.empty(dy.backend, [vocab, d], 'f32');
  runOn(embeddingSegmentSum, { vocab, d, n }, [dy, order, starts], [out]);
  for (const t of [key, order, starts]) t.dispose();
  return out;
}
