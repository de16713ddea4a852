/**
 * The timed steps of bench/moe (MoE and dense SwiGLU, forward and forward + backward) and the
 * small-size check of the whole differentiable layer against the float64 references.
 */
import { type MoeRefWeights, moeLayerBackwardRef, moeLayerForwardRef } from '@hsa/kernels';
import { disposeForward, disposeTrainForward, type MoeConfig, MoeLayer, parseMoeConfig } from '@hsa/moe';
import { ag, type Backend, backward, matmul, Parameter, swiglu, Tensor, type WebGpuBackend } from '@hsa/tensor';
import { fillRandom, timeGpu } from './common.js';
import { profileRun } from './profile.js';
import { hashTensor, hashValue } from './moe-kernels.js';

export interface Size {
  T: number;
  E: number;
  k: number;
  d: number;
  F: number;
  shared: number;
}

export const FULL: Size = { T: 16384, E: 64, k: 4, d: 2048, F: 704, shared: 1 };
export const SMALL: Size = { T: 512, E: 8, k: 2, d: 128, F: 64, shared: 1 };

export const moeConfig = (s: Size): MoeConfig =>
  parseMoeConfig({ hidden_size: s.d, num_experts: s.E, num_experts_per_tok: s.k, moe_intermediate_size: s.F, num_shared_experts: s.shared });

/** Seeds and scales of each hash-filled weight (scale 1/√fan-in keeps activations O(1)). */
export const SEEDS = { x: 11, gate: 12, wg: 13, wu: 14, wd: 15, sg: 16, su: 17, sd: 18, r: 19 };

/** Float64 rows [r0, r1) of a hash-filled [rows, n] tensor. */
export const hostRows = (seed: number, scale: number, r0: number, r1: number, n: number) => Float64Array.from({ length: (r1 - r0) * n }, (_, i) => hashValue(r0 * n + i, seed, scale));

/** Float64 copies of hashLayer's expert e (gate/up [F, d], down [d, F]), as swigluRow takes them. */
export function hostExpert(s: Size, e: number) {
  const { d, F } = s;
  const a = 1 / Math.sqrt(d);
  return { wg: hostRows(SEEDS.wg, a, e * F, (e + 1) * F, d), wu: hostRows(SEEDS.wu, a, e * F, (e + 1) * F, d), wd: hostRows(SEEDS.wd, 1 / Math.sqrt(F), e * d, (e + 1) * d, F), F };
}

/** Float64 copies of hashLayer's shared expert (width F·shared). */
export function hostShared(s: Size) {
  const { d } = s;
  const Fs = s.F * s.shared;
  const a = 1 / Math.sqrt(d);
  return { wg: hostRows(SEEDS.sg, a, 0, Fs, d), wu: hostRows(SEEDS.su, a, 0, Fs, d), wd: hostRows(SEEDS.sd, 1 / Math.sqrt(Fs), 0, d, Fs), F: Fs };
}

export function hashLayer(be: Backend, s: Size): MoeLayer {
  const { E, d, F } = s;
  const Fs = F * s.shared;
  const a = 1 / Math.sqrt(d);
  const b = 1 / Math.sqrt(F);
  const shared = s.shared > 0 ? { gate: hashTensor(be, [Fs, d], SEEDS.sg, a), up: hashTensor(be, [Fs, d], SEEDS.su, a), down: hashTensor(be, [d, Fs], SEEDS.sd, 1 / Math.sqrt(Fs)) } : null;
  return MoeLayer.fromTensors(moeConfig(s), {
    gate: hashTensor(be, [E, d], SEEDS.gate, 4 * a),
    bias: new Float32Array(E),
    experts: { gate: hashTensor(be, [E, F, d], SEEDS.wg, a), up: hashTensor(be, [E, F, d], SEEDS.wu, a), down: hashTensor(be, [E, d, F], SEEDS.wd, b) },
    shared,
  });
}

/** Σ out ⊙ r as a scalar on the tape (the upstream gradient of every output element is r). */
function probe(out: Tensor, r: Tensor): Tensor {
  const prod = ag.mul(out, r);
  const flat = ag.reshape(prod, [-1]);
  const loss = ag.sum(flat, 0);
  prod.dispose();
  flat.dispose();
  return loss;
}

const rand = (n: number, seed: number, scale = 1) => fillRandom(new Float32Array(n), seed).map((v) => v * scale);
const f64 = async (t: Tensor) => Float64Array.from(await t.data());

/** Largest |got − want| / (1e-3 · max|want|) over one gradient (f32 sums of ≤ 300 rows vs float64). */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(want[i]));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Number.isNaN(got[i]) ? Number.POSITIVE_INFINITY : Math.abs(got[i] - want[i]) / (1e-3 * m + 1e-30));
  return worst;
}

/** Forward and every gradient of a small layer on this device against moeLayerForwardRef / BackwardRef. */
export async function checkSmall(be: Backend): Promise<{ worst: number; perTensor: Record<string, number> }> {
  const s: Size = { T: 300, E: 8, k: 2, d: 96, F: 40, shared: 1 };
  const { T, E, d, F } = s;
  const h = [rand(E * d, 1, 2 / Math.sqrt(d)), rand(E * F * d, 2, 1 / Math.sqrt(d)), rand(E * F * d, 3, 1 / Math.sqrt(d)), rand(E * d * F, 4, 1 / Math.sqrt(F))];
  const hs = [rand(F * d, 5, 1 / Math.sqrt(d)), rand(F * d, 6, 1 / Math.sqrt(d)), rand(d * F, 7, 1 / Math.sqrt(F))];
  const hx = rand(T * d, 8);
  const hr = rand(T * d, 9);
  const up = (a: Float32Array, shape: number[]) => Tensor.from(be, a, shape);
  const layer = MoeLayer.fromTensors(moeConfig(s), {
    gate: up(h[0], [E, d]),
    bias: new Float32Array(E),
    experts: { gate: up(h[1], [E, F, d]), up: up(h[2], [E, F, d]), down: up(h[3], [E, d, F]) },
    shared: { gate: up(hs[0], [F, d]), up: up(hs[1], [F, d]), down: up(hs[2], [d, F]) },
  });
  const x = new Parameter('x', up(hx, [T, d]));
  const w = layer.weights;
  const named: [string, Tensor][] = [['gate', w.gate], ['wg', w.experts.gate], ['wu', w.experts.up], ['wd', w.experts.down], ['sg', w.shared!.gate], ['su', w.shared!.up], ['sd', w.shared!.down]];
  const params = named.map(([n, t]) => new Parameter(n, t));
  const r = up(hr, [T, d]);
  const f = layer.forwardAg(x.value);
  const out = await f64(f.out);
  backward(probe(f.out, r));
  disposeTrainForward(f, false);
  const F64 = (a: Float32Array) => Float64Array.from(a);
  const W: MoeRefWeights = { gate: F64(h[0]), bias: new Float64Array(E), wg: F64(h[1]), wu: F64(h[2]), wd: F64(h[3]), shared: { wg: F64(hs[0]), wu: F64(hs[1]), wd: F64(hs[2]), F } };
  const dims = { T, d, F, router: { E, ...layer.routerParams() } };
  const fwd = moeLayerForwardRef(F64(hx), W, dims);
  const g = moeLayerBackwardRef(F64(hx), W, dims, fwd, F64(hr));
  const want: Record<string, Float64Array> = { x: g.x, gate: g.gate, wg: g.wg, wu: g.wu, wd: g.wd, sg: g.shared!.wg, su: g.shared!.wu, sd: g.shared!.wd };
  const perTensor: Record<string, number> = { out: relErr(out, fwd.out) };
  for (const p of [x, ...params]) perTensor[p.name] = relErr(await f64(p.grad!), want[p.name]);
  for (const p of [x, ...params]) p.zeroGrad();
  layer.dispose();
  x.value.dispose();
  r.dispose();
  return { worst: Math.max(...Object.values(perTensor)), perTensor };
}

/** Forward and forward + backward of the MoE layer; a few gradient entries of the last step must be finite. */
export async function moeStep(be: WebGpuBackend, layer: MoeLayer, x: Tensor, s: Size, iters: number, reps: number) {
  const forward = await timeGpu(be, () => disposeForward(layer.forward(x), false), iters, reps);
  const xp = hashTensor(be, [s.T, s.d], SEEDS.x, 1);
  const r = hashTensor(be, [s.T, s.d], SEEDS.r, 1);
  const w = layer.weights;
  const params = [new Parameter('x', xp), new Parameter('gate', w.gate), new Parameter('wg', w.experts.gate), new Parameter('wu', w.experts.up), new Parameter('wd', w.experts.down)];
  if (w.shared) params.push(new Parameter('sg', w.shared.gate), new Parameter('su', w.shared.up), new Parameter('sd', w.shared.down));
  const step = () => {
    const f = layer.forwardAg(xp);
    const loss = probe(f.out, r);
    disposeTrainForward(f, false);
    backward(loss);
    loss.dispose();
  };
  const forwardBackward = await timeGpu(be, () => {
    step();
    for (const p of params) p.zeroGrad();
  }, iters, reps);
  // where the time goes (one step, a timestamp before each dispatch)
  const profile = await profileRun(be, async () => step());
  for (const p of params) p.zeroGrad();
  step();
  const finite: Record<string, boolean> = {};
  for (const p of params) finite[p.name] = Array.from((await p.grad!.data()).subarray(0, 4096)).every(Number.isFinite);
  for (const p of params) p.zeroGrad();
  xp.dispose();
  r.dispose();
  console.error(`moe: forward ${forward.medianMs.toFixed(2)} ms, forward+backward ${forwardBackward.medianMs.toFixed(2)} ms, gradients finite ${JSON.stringify(finite)}`);
  if (!Object.values(finite).every(Boolean)) throw new Error('moe: a gradient is not finite');
  return { forward, forwardBackward, finite, profile };
}

/** Our dense SwiGLU of width (k + shared)·F on the same x: forward, forward + backward; one row checked. */
export async function denseStep(be: WebGpuBackend, x: Tensor, s: Size, iters: number, reps: number) {
  const W = (s.k + s.shared) * s.F;
  const [a, b] = [1 / Math.sqrt(s.d), 1 / Math.sqrt(W)];
  const wg = hashTensor(be, [W, s.d], 41, a);
  const wu = hashTensor(be, [W, s.d], 42, a);
  const wd = hashTensor(be, [s.d, W], 43, b);
  const fwd = (mm: typeof matmul, sw: typeof swiglu, xin: Tensor) => {
    const g = mm(xin, wg, { transB: true });
    const u = mm(xin, wu, { transB: true });
    const h = sw(g, u);
    const y = mm(h, wd, { transB: true });
    for (const t of [g, u, h]) t.dispose();
    return y;
  };
  const y0 = fwd(matmul, swiglu, x);
  const row = Float64Array.from((await y0.data()).subarray(0, s.d));
  y0.dispose();
  const check = denseRowError(row, s, W, a, b);
  const forward = await timeGpu(be, () => fwd(matmul, swiglu, x).dispose(), iters, reps);
  const xp = hashTensor(be, [s.T, s.d], SEEDS.x, 1);
  const r = hashTensor(be, [s.T, s.d], SEEDS.r, 1);
  const params = [new Parameter('x', xp), new Parameter('wg', wg), new Parameter('wu', wu), new Parameter('wd', wd)];
  const forwardBackward = await timeGpu(be, () => {
    const y = fwd(ag.matmul, ag.swiglu, xp);
    const loss = probe(y, r);
    y.dispose();
    backward(loss);
    loss.dispose();
    for (const p of params) p.zeroGrad();
  }, iters, reps);
  for (const t of [xp, r, wg, wu, wd]) t.dispose();
  console.error(`dense ${W}: forward ${forward.medianMs.toFixed(2)} ms, forward+backward ${forwardBackward.medianMs.toFixed(2)} ms, row 0 check ${check.toFixed(3)}`);
  if (!(check <= 1)) throw new Error(`dense check failed (${check})`);
  return { width: W, forward, forwardBackward, checkErrorOverTol: check };
}

/** Row 0 of the dense SwiGLU against float64 from the hash values. */
function denseRowError(row: Float64Array, s: Size, W: number, a: number, b: number): number {
  const x = Float64Array.from({ length: s.d }, (_, c) => hashValue(c, SEEDS.x, 1));
  const act = new Float64Array(W);
  for (let f = 0; f < W; f++) {
    let g = 0;
    let u = 0;
    for (let c = 0; c < s.d; c++) {
      g += x[c] * hashValue(f * s.d + c, 41, a);
      u += x[c] * hashValue(f * s.d + c, 42, a);
    }
    act[f] = (g / (1 + Math.exp(-g))) * u;
  }
  let worst = 0;
  for (let c = 0; c < s.d; c++) {
    let y = 0;
    let mag = 0;
    for (let f = 0; f < W; f++) {
      const t = act[f] * hashValue(c * W + f, 43, b);
      y += t;
      mag += Math.abs(t);
    }
    worst = Math.max(worst, Math.abs(row[c] - y) / (1e-4 * mag + 1e-30));
  }
  return worst;
}

