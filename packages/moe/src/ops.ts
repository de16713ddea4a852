/**
 * MoE ops over Tensors: route, dispatch (GPU counting sort), grouped SwiGLU experts, combine, and the
 * decode path. Each queues kernels only: nothing is read back to the host between them.
 */
import {
  MOE_TILE_M,
  type MoeRouterParams,
  moeCombine,
  moeCount,
  moeGatherMatvec,
  moeGroupedGemm,
  type MoeGroupedGemmParams,
  moeRouter,
  moeScan,
  moeScatter,
  moeSortBlocks,
  ShapeError,
} from '@hsa/kernels';
import { fmtShape, type KernelArg, type Tensor, Tensor as T } from '@hsa/tensor';

export interface Routing {
  /** router scores p [T, E] (sigmoid or softmax of the logits) */
  scores: Tensor;
  /** chosen experts [T, k] i32, best first */
  idx: Tensor;
  /** combine weights [T, k] */
  weights: Tensor;
}

/** Scores, biased top-k and combine weights from router logits [T, E] and the bias [E]. */
export function route(logits: Tensor, bias: Tensor, p: Omit<MoeRouterParams, 'T' | 'E'>): Routing {
  if (logits.rank !== 2 || bias.rank !== 1 || bias.shape[0] !== logits.shape[1]) {
    throw new ShapeError(`moe route: logits ${fmtShape(logits.shape)} and bias ${fmtShape(bias.shape)} must be [T, E] and [E]`);
  }
  const [n, E] = logits.shape;
  const b = logits.backend;
  const scores = T.empty(b, [n, E]);
  const idx = T.empty(b, [n, p.k], 'i32');
  const weights = T.empty(b, [n, p.k]);
  const lc = logits.contiguous();
  b.run(moeRouter, { ...p, T: n, E }, [lc.arg(), bias.arg(), scores.arg(), idx.arg(), weights.arg()]);
  lc.dispose();
  return { scores, idx, weights };
}

export interface Dispatch {
  /** assignment t·k + j at each sorted row [A] u32 */
  perm: Tensor;
  /** first sorted row of each expert [E + 1] u32 (offsets[E] = A); counts are the differences */
  offsets: Tensor;
  /** the grouped GEMM's first row tile of each expert [E + 1] u32 */
  tileStart: Tensor;
}

/**
 * Stable counting sort of the assignments idx [T, k] by expert, all on the device. `range` sorts only
 * the assignments [start, start + count) (start·4 a multiple of 256); perm then counts from start (0 = start).
 */
export function dispatch(idx: Tensor, E: number, range?: { start: number; count: number }): Dispatch {
  const A = range ? range.count : idx.size;
  const b = idx.backend;
  const ia: KernelArg = range ? { storage: idx.storage, dtype: idx.dtype, byteOffset: range.start * 4, bytes: Math.max(range.count, 1) * 4 } : idx.arg();
  const p = { A, E, tileM: MOE_TILE_M };
  const nb = moeSortBlocks(A);
  const perm = T.empty(b, [A], 'u32');
  const offsets = T.empty(b, [E + 1], 'u32');
  const tileStart = T.empty(b, [E + 1], 'u32');
  const counts = T.empty(b, [nb, E], 'u32');
  const blockOffsets = T.empty(b, [nb, E], 'u32');
  if (A === 0) b.write(counts.storage, new Uint32Array(nb * E));
  else b.run(moeCount, p, [ia, counts.arg()]);
  b.run(moeScan, p, [counts.arg(), blockOffsets.arg(), offsets.arg(), tileStart.arg()]);
  b.run(moeScatter, p, [ia, blockOffsets.arg(), perm.arg()]);
  counts.dispose();
  blockOffsets.dispose();
  return { perm, offsets, tileStart };
}

/** Stacked expert weights: gate/up [E, F, d], down [E, d, F], f32 or packed f16/bf16. */
export interface ExpertWeights {
  gate: Tensor;
  up: Tensor;
  down: Tensor;
}

const wDtype = (w: Tensor) => w.dtype as 'f32' | 'f16' | 'bf16';

/**
 * The forward's grouped GEMMs: gateUp (x rows by token, both weights, SwiGLU epilogue, sorted rows)
 * and down (sorted rows, written back in assignment order).
 */
export function gemmParams(mode: 'gateUp' | 'down', k: number, E: number, A: number, N: number, K: number, w: Tensor): MoeGroupedGemmParams {
  const common = { k, E, A, N, K, wDtype: wDtype(w), bLayout: 'nk' as const, accumulate: false };
  if (mode === 'gateUp') return { ...common, aSrc: 'token', outRow: 'sorted', nB: 2, swiglu: true };
  return { ...common, aSrc: 'sorted', outRow: 'assign', nB: 1 };
}

/** Unweighted expert outputs y [T·k, d] in assignment order: two grouped GEMMs over all experts. */
export function expertsForward(x: Tensor, k: number, d: Dispatch, w: ExpertWeights): Tensor {
  const [n, dm] = x.shape;
  const [E, F] = w.gate.shape;
  const A = n * k;
  const b = x.backend;
  const act = T.empty(b, [A, F]);
  const y = T.empty(b, [A, dm]);
  const common = [d.perm.arg(), d.offsets.arg(), d.tileStart.arg()];
  b.run(moeGroupedGemm, gemmParams('gateUp', k, E, A, F, dm, w.gate), [x.arg(), ...common, w.gate.arg(), w.up.arg(), act.arg()]);
  b.run(moeGroupedGemm, gemmParams('down', k, E, A, dm, F, w.down), [act.arg(), ...common, w.down.arg(), y.arg()]);
  act.dispose();
  return y;
}

/**
 * Decode: the layer's output [T, d] for a few tokens, reading only the chosen experts' rows:
 * Σ_j weights[t, j]·expert_{idx[t, j]}(x_t) + shared(x_t), in two dispatches (gate/up with the shared
 * expert's rows alongside, then down with the weighting and the sum).
 */
export function expertsDecode(x: Tensor, idx: Tensor, weights: Tensor, w: ExpertWeights, shared?: ExpertWeights | null): Tensor {
  return decodeExperts(x, idx.shape[1], w, shared, { idx, weights });
}

/**
 * Decode from the router's logits [T, E]: the experts are chosen inside the gate/up dispatch
 * ({@link route}'s rule and order), so after the router's matvec the layer is two dispatches.
 * Returns the output [T, d] and the routing it used (idx [T, k] i32, weights [T, k]).
 */
export function expertsDecodeRouted(
  x: Tensor,
  logits: Tensor,
  bias: Tensor,
  p: Omit<MoeRouterParams, 'T' | 'E'>,
  w: ExpertWeights,
  shared?: ExpertWeights | null,
): { out: Tensor; idx: Tensor; weights: Tensor } {
  const [n, E] = logits.shape;
  if (logits.rank !== 2 || n !== x.shape[0] || bias.rank !== 1 || bias.shape[0] !== E || w.gate.shape[0] !== E) {
    throw new ShapeError(`moe expertsDecodeRouted: logits ${fmtShape(logits.shape)}, bias ${fmtShape(bias.shape)} and ${w.gate.shape[0]} experts must be [${x.shape[0]}, E], [E] and E`);
  }
  const idx = T.empty(x.backend, [n, p.k], 'i32');
  const weights = T.empty(x.backend, [n, p.k]);
  const lc = logits.contiguous();
  const out = decodeExperts(x, p.k, w, shared, { idx, weights, route: { logits: lc, bias, params: { ...p, E } } });
  lc.dispose();
  return { out, idx, weights };
}

interface DecodeRouting {
  idx: Tensor;
  weights: Tensor;
  /** with this, gate/up chooses the experts from the logits and writes idx and weights */
  route?: { logits: Tensor; bias: Tensor; params: Omit<MoeRouterParams, 'T' | 'k' | 'variant'> };
}

function decodeExperts(x: Tensor, k: number, w: ExpertWeights, shared: ExpertWeights | null | undefined, r: DecodeRouting): Tensor {
  const [n, dm] = x.shape;
  const F = w.gate.shape[1];
  const Fs = shared ? shared.gate.shape[0] : 0;
  const A = n * k;
  const b = x.backend;
  const act = T.empty(b, [A, F]);
  const actS = shared ? T.empty(b, [n, Fs]) : null;
  const out = T.empty(b, [n, dm]);
  const base = { A, k, wDtype: wDtype(w.gate), shared: Fs };
  const sg = shared && actS ? [shared.gate.arg(), shared.up.arg()] : [];
  const routeArgs = r.route ? [r.route.logits.arg(), r.route.bias.arg(), r.weights.arg()] : [];
  b.run(moeGatherMatvec, { ...base, mode: 'gateUp', N: F, K: dm, route: r.route?.params }, [x.arg(), r.idx.arg(), w.gate.arg(), w.up.arg(), ...sg, act.arg(), ...(actS ? [actS.arg()] : []), ...routeArgs]);
  const sd = shared && actS ? [actS.arg(), shared.down.arg()] : [];
  b.run(moeGatherMatvec, { ...base, mode: 'downCombine', N: dm, K: F }, [act.arg(), r.idx.arg(), w.down.arg(), r.weights.arg(), ...sd, out.arg()]);
  act.dispose();
  actS?.dispose();
  return out;
}

/** out [T, d] = Σ_j weights[t, j]·y[t·k + j] (+ shared [T, d]), summed in slot order. */
export function combine(y: Tensor, weights: Tensor, shared?: Tensor): Tensor {
  const [n, k] = weights.shape;
  const dm = y.shape[1];
  const out = T.empty(y.backend, [n, dm]);
  const args = [y.arg(), weights.arg(), ...(shared ? [shared.arg()] : []), out.arg()];
  y.backend.run(moeCombine, { T: n, k, d: dm, shared: !!shared }, args);
  return out;
}
