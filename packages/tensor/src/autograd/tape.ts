/**
 * Reverse-mode autograd: a tape of nodes recorded during the forward pass by the `ag.*` ops, walked
 * backwards from a scalar. Which tensors take part lives in side tables (WeakSet / WeakMap), so the
 * Tensor API is unchanged: a plain op on a tracked tensor simply is not recorded.
 *
 * A node keeps views of the tensors its backward needs (`saved`), so the caller may dispose its own
 * references; they are released when the backward pass has used them (or by `clearTape`).
 */
import { ArgumentError, ShapeError } from '@hsa/kernels';
import { add } from '../ops/binary.js';
import { fill } from '../ops/fill.js';
import { fmtShape, type Tensor } from '../tensor.js';
import { markTracked, type Parameter, parameterOf, requiresGrad } from './parameter.js';

export { markTracked, requiresGrad };

/** One recorded op: output = f(inputs); backward maps dL/doutput to dL/dinput (null: no gradient). */
export interface TapeNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  /**
   * Gradients of the inputs from the output's gradient `dy`; `dyValue` is every element of dy where
   * that is known on the host (the seed of {@link backward}), so a backward may skip multiplying by it.
   */
  backward(dy: Tensor, dyValue?: number): (Tensor | null)[];
  /** views the backward uses, released after it ran */
  readonly saved: readonly Tensor[];
}

/**
 * An op with several outputs (ag.unbind): `backward` receives the gradient of each output, undefined
 * for an output that no gradient reached (at least one did).
 */
export interface MultiTapeNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  backward(dys: readonly (Tensor | undefined)[]): (Tensor | null)[];
  readonly saved: readonly Tensor[];
}

export type AnyTapeNode = TapeNode | MultiTapeNode;

let gradEnabled = true;
let tape: AnyTapeNode[] = [];

/** True when recording is on and any input requires a gradient. */
export function shouldRecord(...inputs: (Tensor | undefined)[]): boolean {
  return gradEnabled && inputs.some((t) => t !== undefined && requiresGrad(t));
}

/** A new reference to the same storage (a view), kept by a node. */
export function keep(t: Tensor): Tensor {
  return t.permute(t.shape.map((_, i) => i));
}

/** Records `output = op(inputs)` with its backward; `saved` are views made with {@link keep}. */
export function record(node: TapeNode): Tensor {
  markTracked(node.output);
  tape.push(node);
  return node.output;
}

/** Records `outputs = op(inputs)` for an op with several outputs; returns them. */
export function recordMulti(node: MultiTapeNode): Tensor[] {
  for (const o of node.outputs) markTracked(o);
  tape.push(node);
  return [...node.outputs];
}

/** Runs `fn` without recording (evaluation, optimizer updates); restores the previous mode. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs `fn` with recording on (checkpoint recomputation inside a backward pass). */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True while ops are being recorded. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** A view of `t` that no gradient flows through. */
export function detach(t: Tensor): Tensor {
  return keep(t);
}

/** Drops every recorded node (e.g. after an evaluation forward that will not be differentiated). */
export function clearTape(): void {
  for (const n of tape) for (const s of n.saved) s.dispose();
  tape = [];
}

/** Swaps in a fresh tape (checkpointing records a block's recomputation apart); returns the old one. */
export function swapTape(next: AnyTapeNode[]): AnyTapeNode[] {
  const prev = tape;
  tape = next;
  return prev;
}

function accumulate(grads: Map<Tensor, Tensor>, t: Tensor, g: Tensor): void {
  if (g.rank !== t.rank || g.shape.some((d, i) => d !== t.shape[i])) {
    throw new ShapeError(`backward: gradient ${fmtShape(g.shape)} for a tensor of shape ${fmtShape(t.shape)}`);
  }
  const prev = grads.get(t);
  if (!prev) grads.set(t, g);
  else {
    grads.set(t, add(prev, g));
    prev.dispose();
    g.dispose();
  }
}

function addToParameter(p: Parameter, g: Tensor): void {
  if (!p.grad) p.grad = g;
  else {
    const s = add(p.grad, g);
    p.grad.dispose();
    g.dispose();
    p.grad = s;
  }
}

/**
 * Walks `nodes` backwards from the seeds (`seedValues`: the value of every element of a seed, where
 * known on the host); gradients of Parameters are added to `param.grad`, those of other leaves are
 * returned. Consumes and releases the nodes.
 */
export function runBackward(nodes: AnyTapeNode[], seeds: Map<Tensor, Tensor>, seedValues?: Map<Tensor, number>): Map<Tensor, Tensor> {
  const grads = seeds;
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      const outs = 'outputs' in node ? node.outputs : [node.output];
      const dys = outs.map((o) => grads.get(o));
      if (dys.some((d) => d !== undefined)) {
        for (const o of outs) grads.delete(o);
        const gs = 'outputs' in node ? node.backward(dys) : node.backward(dys[0] as Tensor, seedValues?.get(dys[0] as Tensor));
        for (const d of dys) d?.dispose();
        gs.forEach((g, k) => {
          if (g && requiresGrad(node.inputs[k])) accumulate(grads, node.inputs[k], g);
          else g?.dispose();
        });
      }
      for (const s of node.saved) s.dispose();
    }
  } finally {
    gradEnabled = prev;
  }
  for (const [t, g] of grads) {
    const p = parameterOf(t);
    if (p) {
      addToParameter(p, g);
      grads.delete(t);
    }
  }
  return grads;
}

/**
 * Back-propagates from the scalar `loss` (gradient `scale`, e.g. 1/accumulation steps) through the
 * tape recorded since the last backward, adding into each Parameter's `grad`. Clears the tape.
 */
export function backward(loss: Tensor, scale = 1): void {
  if (loss.size !== 1) throw new ShapeError(`backward: loss must be a scalar, got shape ${fmtShape(loss.shape)}`);
  if (!requiresGrad(loss)) throw new ArgumentError('backward: the loss does not depend on any parameter (was it computed under noGrad or with plain ops?)');
  const nodes = tape;
  tape = [];
  const seed = fill(loss.backend, loss.shape, scale);
  const rest = runBackward(nodes, new Map([[loss, seed]]), new Map([[seed, scale]]));
  for (const g of rest.values()) g.dispose();
}
