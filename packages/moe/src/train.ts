/**
 * The differentiable MoE layer (autograd through @hsa/tensor's tape): gradients for x, the router
 * weight (through the selected scores: sigmoid or softmax, norm_topk_prob, routed_scaling_factor;
 * not through the top-k choice or the bias), the combine weights, every expert's gate/up/down
 * (grouped kernels over all experts, blocks.ts) and the shared expert (ag.matmul / ag.swiglu).
 * Deterministic: fixed-order sums everywhere, no float atomics.
 */
import { type MoeRouterParams, moeRouterBackward, ShapeError } from '@hsa/kernels';
import { ag, fmtShape, keep, record, shouldRecord, Tensor } from '@hsa/tensor';
import { type BlockSaved, blockBackward, blockForward, disposeBlock, expertGrads, tokenBlocks } from './blocks.js';
import { type ExpertWeights, type Routing, route } from './ops.js';

type RouterOptions = Omit<MoeRouterParams, 'T' | 'E'>;

/**
 * The combine weights of `route` as a differentiable function of the logits [T, E]: the returned
 * routing's `weights` carries the gradient back to `logits` (scores and idx carry none).
 */
export function routeAg(logits: Tensor, bias: Tensor, p: RouterOptions): Routing {
  const r = route(logits, bias, p);
  if (!shouldRecord(logits)) return r;
  const [T, E] = logits.shape;
  const saved = [keep(r.scores), keep(r.idx)];
  const weights = record({
    op: 'moeRouter',
    inputs: [logits],
    output: r.weights,
    saved,
    backward: (dw) => {
      const dr = Tensor.empty(logits.backend, [T, E]);
      const dwc = dw.contiguous();
      logits.backend.run(moeRouterBackward, { T, E, k: p.k, scoreFn: p.scoreFn, norm: p.norm, scale: p.scale }, [saved[0].arg(), saved[1].arg(), dwc.arg(), dr.arg()]);
      dwc.dispose();
      return [dr];
    },
  });
  return { ...r, weights };
}

/**
 * out [T, d] = Σ_j w[t, j]·SwiGLU_{idx[t, j]}(x_t) with gradients for x, w and the stacked expert
 * weights (f32 when trained). Returns the dispatch offsets of each token block (expert loads).
 */
export function expertsAg(x: Tensor, idx: Tensor, w: Tensor, ex: ExpertWeights): { out: Tensor; offsets: Tensor[] } {
  const [T, d] = x.shape;
  const F = ex.gate.shape[1];
  const k = idx.shape[1];
  if (idx.rank !== 2 || idx.shape[0] !== T || w.shape[0] !== T || w.shape[1] !== k || ex.gate.shape[2] !== d) {
    throw new ShapeError(`moe experts: x ${fmtShape(x.shape)}, idx ${fmtShape(idx.shape)}, w ${fmtShape(w.shape)}, gate ${fmtShape(ex.gate.shape)} do not fit [T, d], [T, k], [T, k], [E, F, d]`);
  }
  const xc = x.contiguous();
  const wc = w.contiguous();
  const out = Tensor.empty(x.backend, [T, d]);
  const blocks: BlockSaved[] = tokenBlocks(x.backend, T, k, d, F).map((blk) => blockForward(xc, idx, wc, ex, blk, out));
  const offsets = blocks.map((s) => keep(s.disp.offsets));
  const inputs = [x, w, ex.gate, ex.up, ex.down];
  if (!shouldRecord(...inputs)) {
    blocks.forEach(disposeBlock);
    xc.dispose();
    wc.dispose();
    return { out, offsets };
  }
  const sw = { gate: keep(ex.gate), up: keep(ex.up), down: keep(ex.down) };
  const saved = [xc, wc, sw.gate, sw.up, sw.down, ...blocks.flatMap((s) => [s.disp.perm, s.disp.offsets, s.disp.tileStart, s.g, s.u, s.y])];
  record({
    op: 'moeExperts',
    inputs,
    output: out,
    saved,
    backward: (dout) => {
      const dc = dout.contiguous();
      const gr = expertGrads(xc, wc, sw);
      blocks.forEach((s, i) => {
        blockBackward(xc, wc, sw, s, dc, gr, i === 0);
      });
      dc.dispose();
      return [gr.dx, gr.dw, gr.gate, gr.up, gr.down];
    },
  });
  return { out, offsets };
}

/** The trainable tensors of one MoE layer (f32; make them Parameters to get gradients). */
export interface MoeTrainWeights {
  /** router weight [E, d] */
  gate: Tensor;
  experts: ExpertWeights;
  shared: ExpertWeights | null;
}

export interface MoeTrainForward {
  /** [T, d] */
  out: Tensor;
  /** router logits [T, E] */
  logits: Tensor;
  routing: Routing;
  /** dispatch offsets [E + 1] of each token block (expertLoad sums them) */
  offsets: Tensor[];
}

/** SwiGLU of the shared experts through ag ops, [T, d]. */
function sharedAg(x: Tensor, s: ExpertWeights): Tensor {
  const g = ag.matmul(x, s.gate, { transB: true });
  const u = ag.matmul(x, s.up, { transB: true });
  const a = ag.swiglu(g, u);
  const y = ag.matmul(a, s.down, { transB: true });
  for (const t of [g, u, a]) t.dispose();
  return y;
}

/**
 * The MoE layer's forward over x [T, d], differentiable (records onto the tape when x or a weight
 * requires a gradient): logits = x·Gᵀ, route (biased top-k; `bias` [E] is for selection only),
 * routed experts combined with the routed weights, plus the shared experts.
 */
export function moeForwardAg(x: Tensor, w: MoeTrainWeights, bias: Tensor, p: RouterOptions): MoeTrainForward {
  const logits = ag.matmul(x, w.gate, { transB: true });
  const routing = routeAg(logits, bias, p);
  const { out: routed, offsets } = expertsAg(x, routing.idx, routing.weights, w.experts);
  if (!w.shared) return { out: routed, logits, routing, offsets };
  const s = sharedAg(x, w.shared);
  const out = ag.add(routed, s);
  routed.dispose();
  s.dispose();
  return { out, logits, routing, offsets };
}

/** Releases a training forward's tensors except `out` (the tape keeps what the backward needs). */
export function disposeTrainForward(f: MoeTrainForward, keepOut = true): void {
  for (const t of [f.logits, f.routing.scores, f.routing.idx, f.routing.weights, ...f.offsets]) t.dispose();
  if (!keepOut) f.out.dispose();
}
