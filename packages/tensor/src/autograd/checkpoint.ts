/**
 * Activation checkpointing: a block runs without recording, keeping only its inputs; the backward pass
 * runs it again with recording on and back-propagates through that recomputation. Memory of the block's
 * activations is traded for one more forward of the block.
 */
import type { Tensor } from '../tensor.js';
import { markTracked } from './parameter.js';
import { type AnyTapeNode, detach, enableGrad, isGradEnabled, keep, noGrad, record, runBackward, swapTape } from './tape.js';

/**
 * `fn(...inputs)` whose intermediate activations are recomputed in backward instead of stored. `fn`
 * must be deterministic (same inputs and parameters, same result) and use ag.* ops.
 */
export function checkpoint(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]): Tensor {
  const out = noGrad(() => fn(...inputs));
  // recorded whenever grad is on: parameters inside the block need it even if no input is tracked
  if (!isGradEnabled()) return out;
  const saved = inputs.map(keep);
  return record({
    op: 'checkpoint',
    inputs,
    output: out,
    saved,
    backward: (dy) => {
      const xs = saved.map(detach);
      for (const x of xs) markTracked(x);
      const outer = swapTape([]);
      let sub: AnyTapeNode[] = [];
      let y: Tensor;
      try {
        y = enableGrad(() => fn(...xs));
      } finally {
        sub = swapTape(outer);
      }
      const grads = runBackward(sub, new Map([[y, keep(dy)]]));
      const res = xs.map((x) => grads.get(x) ?? null);
      for (const [t, g] of grads) if (!xs.includes(t)) g.dispose();
      for (const x of xs) x.dispose();
      y.dispose();
      return res;
    },
  });
}
