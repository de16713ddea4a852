/**
 * bench/moe: one MoE layer (E = 64, k = 4, d = 2048, expert width 704, one shared expert, 16K tokens)
 * against our dense SwiGLU of width (k + shared)·704 = 3520 (the same active parameters), in one run:
 *   forward (the inference path: fused gate/up grouped GEMM), forward + backward (moeForwardAg and
 *   the tape; x and every weight get gradients on both sides), and the one-token decode step
 *   (f32 and bf16 experts) beside a copy kernel's rate (the decode floor: reading 4 + 1 experts).
 * Before timing: the whole layer, forward and every gradient, at a small size on this device against
 * the float64 references; then sampled tokens of the full-size forward against float64 (weights are
 * hash-filled on the device, so the host recomputes any of them).
 * Flags: --small (T 512, E 8, k 2, d 128, F 64: runs on SwiftShader), --tokens N, --json PATH.
 * bench/moe_torch.py is the same-run PyTorch baseline (loop over experts, f32, TF32 off).
 */
import { moeGatherMatvec, moeGroupedGemm, moeRouterRef, swigluRow } from '@hsa/kernels';
import { disposeForward, expertsDecode, expertsDecodeRouted, MoeLayer, route } from '@hsa/moe';
import { cast, matmul, Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, backendOptions, gitCommit, relDiff, timeGpu, writeJson } from './common.js';
import { checkSmall, denseStep, FULL, hashLayer, hostExpert, hostRows, hostShared, moeStep, SEEDS, SMALL, type Size } from './moe-steps.js';
import { copyRate, hashTensor } from './moe-kernels.js';
import { profileRun } from './profile.js';


/** Sampled tokens of the full-size forward against float64 (GPU's selection where a near-tie flips it). */
async function checkFull(s: Size, layer: MoeLayer, x: Tensor): Promise<{ worst: number; tokens: number[]; selectionFlips: number }> {
  const f = layer.forward(x);
  const [out, idx] = [(await f.out.data()) as Float32Array, (await f.idx.data()) as Int32Array];
  disposeForward(f, false);
  const { E, k, d } = s;
  const a = 1 / Math.sqrt(d);
  const gate = hostRows(SEEDS.gate, 4 * a, 0, E, d);
  const tokens = [0, 1, s.T >> 1, s.T - 1];
  let worst = 0;
  let flips = 0;
  for (const t of tokens) {
    const xt = hostRows(SEEDS.x, 1, t, t + 1, d);
    const logits = Float64Array.from({ length: E }, (_, e) => xt.reduce((acc, v, c) => acc + v * gate[e * d + c], 0));
    const [scores, sel, w] = [new Float64Array(E), new Int32Array(k), new Float64Array(k)];
    moeRouterRef([logits, new Float64Array(E), scores, sel, w], { ...layer.routerParams(), T: 1, E });
    if (sel.some((e, j) => e !== idx[t * k + j])) flips++;
    // the GPU's selection (a near-tie may flip it against float64), float64 weights for it
    const S = Array.from({ length: k }, (_, j) => scores[idx[t * k + j]]).reduce((acc, v) => acc + v, 0);
    const want = new Float64Array(d);
    const mag = new Float64Array(d);
    for (let j = 0; j < k; j++) {
      const e = idx[t * k + j];
      const y = swigluRow(xt, 0, hostExpert(s, e), 0, 0, d);
      const wj = (scores[e] / S) * layer.config.routedScalingFactor;
      for (let c = 0; c < d; c++) {
        want[c] += wj * y[c];
        mag[c] += Math.abs(wj * y[c]);
      }
    }
    if (s.shared > 0) {
      const y = swigluRow(xt, 0, hostShared(s), 0, 0, d);
      for (let c = 0; c < d; c++) {
        want[c] += y[c];
        mag[c] += Math.abs(y[c]);
      }
    }
    const scale = mag.reduce((m, v) => m + v, 0) / d;
    // f32 dots of d and F terms: 1e-4 of the row's mean magnitude is ~25× the rounding bound
    for (let c = 0; c < d; c++) worst = Math.max(worst, Math.abs(out[t * d + c] - want[c]) / (1e-4 * (mag[c] + scale)));
  }
  return { worst, tokens, selectionFlips: flips };
}

const flopsMoe = (s: Size) => 2 * s.T * ((s.k + s.shared) * 3 * s.F * s.d + s.E * s.d);

/**
 * The decode with a separate selection dispatch: router matvec, route (one thread a token: 52acdec's
 * default; one workgroup: fcaf2cd's), then the two expert gathers. The default picks the experts
 * inside the gate/up gather (3 dispatches).
 */
function decodeSeparate(layer: MoeLayer, x: Tensor, variant: 'thread' | 'workgroup'): Tensor {
  const logits = matmul(x, layer.gate, { transB: true });
  const r = route(logits, layer.biasDevice, { ...layer.routerParams(), variant });
  const out = expertsDecode(x, r.idx, r.weights, layer.experts, layer.shared);
  for (const t of [logits, r.scores, r.idx, r.weights]) t.dispose();
  return out;
}

/** The two decode gathers alone: gate/up choosing the experts (route), then downCombine. */
async function gatherKernels(layer: MoeLayer, x: Tensor, logits: Tensor, iters: number, reps: number) {
  const be = x.backend as WebGpuBackend;
  const p = layer.routerParams();
  const [F, d, E] = [layer.experts.gate.shape[1], x.shape[1], layer.experts.gate.shape[0]];
  const sh = layer.shared;
  const Fs = sh ? sh.gate.shape[0] : 0;
  const base = { A: p.k, k: p.k, wDtype: layer.experts.gate.dtype as 'f32' | 'bf16', shared: Fs };
  const [idx, cw] = [Tensor.empty(be, [p.k], 'i32'), Tensor.empty(be, [p.k])];
  const act = Tensor.empty(be, [p.k, F]);
  const actS = Tensor.empty(be, [1, Math.max(Fs, 1)]);
  const out = Tensor.empty(be, [1, d]);
  // gate/up choosing the experts; with `tree`, its picks by the workgroup tree (v2) instead of subgroups
  const gateUpWith = (tree: boolean) => () =>
    be.run(moeGatherMatvec, { ...base, mode: 'gateUp', N: F, K: d, route: { ...p, E, ...(tree ? { selectOnSubgroups: false } : {}) } }, [x.arg(), idx.arg(), layer.experts.gate.arg(), layer.experts.up.arg(), ...(sh ? [sh.gate.arg(), sh.up.arg()] : []), act.arg(), ...(sh ? [actS.arg()] : []), logits.arg(), layer.biasDevice.arg(), cw.arg()]);
  const [gateUp, gateUpTree] = [gateUpWith(false), gateUpWith(true)];
  const down = () =>
    be.run(moeGatherMatvec, { ...base, mode: 'downCombine', N: d, K: F }, [act.arg(), idx.arg(), layer.experts.down.arg(), cw.arg(), ...(sh ? [actS.arg(), sh.down.arg()] : []), out.arg()]);
  gateUp();
  const res = { gateUpRouted: await timeGpu(be, gateUp, iters, reps), gateUpRoutedTree: await timeGpu(be, gateUpTree, iters, reps), downCombine: await timeGpu(be, down, iters, reps) };
  for (const t of [idx, cw, act, actS, out]) t.dispose();
  return res;
}

/**
 * The decode's dispatches alone at one token: the router matvec, the selection by one thread (v1) and
 * by one workgroup (v2), the two expert gathers given the routing, and the same two with gate/up
 * choosing the experts (the three routings compared first): where the step's time goes.
 */
async function decodeParts(layer: MoeLayer, x: Tensor, iters: number, reps: number) {
  const be = x.backend as WebGpuBackend;
  const logits = matmul(x, layer.gate, { transB: true });
  const p = layer.routerParams();
  const rs = [route(logits, layer.biasDevice, { ...p, variant: 'thread' }), route(logits, layer.biasDevice, { ...p, variant: 'workgroup' })];
  const fused = expertsDecodeRouted(x, logits, layer.biasDevice, p, layer.experts, layer.shared);
  const idx = await Promise.all([...rs, fused].map(async (r) => Array.from(await r.idx.data()).join()));
  const w = await Promise.all([...rs, fused].map((r) => r.weights.data()));
  const rel = Math.max(relDiff(w[1], w[0]), relDiff(w[2], w[0]));
  if (idx[1] !== idx[0] || idx[2] !== idx[0] || !(rel <= 1e-5)) throw new Error(`decode routing: thread ${idx[0]}, workgroup ${idx[1]}, in gate/up ${idx[2]} (weights differ by ${rel})`);
  const done = (r: { idx: Tensor; weights: Tensor; scores?: Tensor; out?: Tensor }) => {
    for (const t of [r.scores, r.idx, r.weights, r.out]) t?.dispose();
  };
  const res = {
    router: await timeGpu(be, () => matmul(x, layer.gate, { transB: true }).dispose(), iters, reps),
    routeThread: await timeGpu(be, () => done(route(logits, layer.biasDevice, { ...p, variant: 'thread' })), iters, reps),
    routeWorkgroup: await timeGpu(be, () => done(route(logits, layer.biasDevice, { ...p, variant: 'workgroup' })), iters, reps),
    gathers: await timeGpu(be, () => expertsDecode(x, rs[0].idx, rs[0].weights, layer.experts, layer.shared).dispose(), iters, reps),
    gathersRouting: await timeGpu(be, () => done(expertsDecodeRouted(x, logits, layer.biasDevice, p, layer.experts, layer.shared)), iters, reps),
    ...(await gatherKernels(layer, x, logits, iters, reps)),
  };
  logits.dispose();
  [...rs, fused].forEach(done);
  const us = (k: keyof typeof res) => `${k} ${(res[k].medianMs * 1e3).toFixed(1)}`;
  console.error(`decode parts (µs): ${(Object.keys(res) as (keyof typeof res)[]).map(us).join(', ')}`);
  return res;
}

async function decode(be: WebGpuBackend, layer: MoeLayer, s: Size, label: string, bytesPerWeight: number, iters: number, reps: number) {
  const x1 = hashTensor(be, [1, s.d], 21, 1);
  // the default against the separate selections on this token first
  const outs = [layer.decode(x1), decodeSeparate(layer, x1, 'thread'), decodeSeparate(layer, x1, 'workgroup')];
  const data = await Promise.all(outs.map((o) => o.data()));
  const rel = Math.max(relDiff(data[0], data[1]), relDiff(data[0], data[2]));
  for (const o of outs) o.dispose();
  if (!(rel <= 1e-5)) throw new Error(`decode ${label}: the routings' outputs differ by ${rel} of the largest`);
  const routeThread = await timeGpu(be, () => decodeSeparate(layer, x1, 'thread').dispose(), iters, reps);
  const routeWorkgroup = await timeGpu(be, () => decodeSeparate(layer, x1, 'workgroup').dispose(), iters, reps);
  const t = await timeGpu(be, () => layer.decode(x1).dispose(), iters, reps);
  // the same step with the in-kernel selection's picks by the workgroup tree (v2; subgroups: v3, the default)
  const treeStep = () => {
    const logits = matmul(x1, layer.gate, { transB: true });
    const r = expertsDecodeRouted(x1, logits, layer.biasDevice, { ...layer.routerParams(), selectOnSubgroups: false }, layer.experts, layer.shared);
    for (const u of [logits, r.idx, r.weights]) u.dispose();
    return r.out;
  };
  {
    const [a, b] = [treeStep(), layer.decode(x1)];
    const e = relDiff(await a.data(), await b.data());
    a.dispose();
    b.dispose();
    if (!(e <= 1e-5)) throw new Error(`decode ${label}: the tree picks' output differs by ${e}`);
  }
  const tTree = await timeGpu(be, () => treeStep().dispose(), iters, reps);
  const parts = await decodeParts(layer, x1, iters, reps);
  const profile = await profileRun(be, async () => layer.decode(x1).dispose());
  const bytes = (s.k + s.shared) * 3 * s.F * s.d * bytesPerWeight;
  x1.dispose();
  const us = (m: number) => (m * 1e3).toFixed(1);
  console.error(`decode ${label}: ${us(t.medianMs)} µs (picks by the workgroup tree: ${us(tTree.medianMs)} µs; selection dispatch by one thread: ${us(routeThread.medianMs)} µs, by a workgroup: ${us(routeWorkgroup.medianMs)} µs), ${(bytes / (t.medianMs * 1e-3) / 1e12).toFixed(2)} TB/s of expert weights`);
  return { weights: label, timing: t, timingTreePicks: tTree, routeThread, routeWorkgroup, parts, routingsMaxDiff: rel, expertBytes: bytes, weightTBps: bytes / (t.medianMs * 1e-3) / 1e12, profile };
}

/** The 128-row tile's earlier versions timed beside its default (v5: BK 4, warp layout): v4 / v3 (BK 8, rows), BK 4 by rows. */
const TILE_VARIANTS = { bk8Rows: { threads: 'rows', bk: 8 }, bk4Rows: { threads: 'rows', bk: 4 } } as const;

/**
 * The forward's two grouped GEMMs alone at the layer's routing: gate/up (SwiGLU epilogue) on the
 * 128-row tile (the default), on v2's 64×128 tiles, and the 128-row tile's thread layout / stage
 * depth variants; down and the backward's dact and dx ([K, N] weights) on the 128-row tile and its
 * variants. Outputs compared first.
 */
async function gemmVersions(be: WebGpuBackend, layer: MoeLayer, x: Tensor, s: Size, iters: number, reps: number) {
  const f = layer.forward(x);
  const A = s.T * s.k;
  const act = Tensor.empty(be, [A, s.F]);
  const sched = [f.perm.arg(), f.offsets.arg(), f.tileStart.arg()];
  const gate = { k: s.k, E: s.E, A, N: s.F, K: s.d, wDtype: 'f32' as const, bLayout: 'nk' as const, accumulate: false, aSrc: 'token' as const, outRow: 'sorted' as const, nB: 2 as const, swiglu: true };
  const down = { ...gate, N: s.d, K: s.F, aSrc: 'sorted' as const, outRow: 'assign' as const, nB: 1 as const, swiglu: false };
  const dact = { ...down, N: s.F, K: s.d, aSrc: 'assign' as const, outRow: 'sorted' as const, bLayout: 'kn' as const };
  const dx = { ...down, bLayout: 'kn' as const };
  const dy = hashTensor(be, [A, s.d], 31, 1);
  const gemms = {
    gateUp: { base: gate, rows: s.F, args: (out: Tensor) => [x.arg(), ...sched, layer.experts.gate.arg(), layer.experts.up.arg(), out.arg()], variants: { default: {}, tile64: { tile: 64 }, ...TILE_VARIANTS } },
    down: { base: down, rows: s.d, args: (out: Tensor) => [act.arg(), ...sched, layer.experts.down.arg(), out.arg()], variants: { default: {}, ...TILE_VARIANTS } },
    // the backward's [K, N] GEMMs
    dact: { base: dact, rows: s.F, args: (out: Tensor) => [dy.arg(), ...sched, layer.experts.down.arg(), out.arg()], variants: { default: {}, ...TILE_VARIANTS } },
    dx: { base: dx, rows: s.d, args: (out: Tensor) => [act.arg(), ...sched, layer.experts.gate.arg(), out.arg()], variants: { default: {}, ...TILE_VARIANTS } },
  };
  const res: Record<string, Record<string, unknown>> = {};
  for (const [name, g] of Object.entries(gemms)) {
    const ref = Tensor.empty(be, [A, g.rows]);
    be.run(moeGroupedGemm, g.base, g.args(ref));
    if (name === 'gateUp') be.run(moeGroupedGemm, g.base, g.args(act));
    const want = await ref.data();
    const r: Record<string, unknown> = {};
    for (const [v, o] of Object.entries(g.variants)) {
      const out = Tensor.empty(be, [A, g.rows]);
      be.run(moeGroupedGemm, { ...g.base, ...o }, g.args(out));
      const rel = relDiff(await out.data(), want);
      if (!(rel <= 1e-5)) throw new Error(`${name} GEMM ${v} vs default differ by ${rel} of the largest output`);
      r[v] = await timeGpu(be, () => be.run(moeGroupedGemm, { ...g.base, ...o }, g.args(out)), iters, reps);
      out.dispose();
    }
    ref.dispose();
    res[name] = r;
    const ms = (v: string) => `${v} ${(r[v] as { medianMs: number }).medianMs.toFixed(2)}`;
    console.error(`${name} GEMM (ms): ${Object.keys(g.variants).map(ms).join(', ')}`);
  }
  act.dispose();
  dy.dispose();
  disposeForward(f, false);
  return res;
}

async function main() {
  const be = await WebGpuBackend.create(backendOptions());
  const small = process.argv.includes('--small');
  const s: Size = { ...(small ? SMALL : FULL) };
  if (argValue('--tokens')) s.T = Number(argValue('--tokens'));
  const smallCheck = await checkSmall(be);
  console.error(`small-size forward + gradients vs float64: worst ${smallCheck.worst.toFixed(3)} of tolerance`);
  if (!(smallCheck.worst <= 1)) throw new Error(`small-size check failed: ${JSON.stringify(smallCheck)}`);
  const layer = hashLayer(be, s);
  const x = hashTensor(be, [s.T, s.d], SEEDS.x, 1);
  const full = await checkFull(s, layer, x);
  console.error(`full-size forward, tokens ${full.tokens}: worst ${full.worst.toFixed(3)} of tolerance`);
  if (!(full.worst <= 1)) throw new Error(`full-size forward check failed (${full.worst})`);
  const iters = small ? 2 : 3;
  // SwiftShader (--small, to see it work) takes seconds a step: fewer repetitions there
  const reps = small ? 3 : 10;
  const moe = await moeStep(be, layer, x, s, iters, reps);
  const gemms = await gemmVersions(be, layer, x, s, iters, reps);
  // where the forward's time goes (one forward, a timestamp before each dispatch)
  const forwardProfile = await profileRun(be, async () => disposeForward(layer.forward(x), false));
  console.error(`forward profile: ${JSON.stringify(forwardProfile)}`);
  const dense = await denseStep(be, x, s, iters, reps);
  const dec = [await decode(be, layer, s, 'f32', 4, small ? 2 : 100, reps)];
  const b16 = MoeLayer.fromTensors(layer.config, {
    gate: cast(layer.gate, 'f32'),
    bias: layer.bias,
    experts: { gate: cast(layer.experts.gate, 'bf16'), up: cast(layer.experts.up, 'bf16'), down: cast(layer.experts.down, 'bf16') },
    shared: layer.shared && { gate: cast(layer.shared.gate, 'bf16'), up: cast(layer.shared.up, 'bf16'), down: cast(layer.shared.down, 'bf16') },
  });
  dec.push(await decode(be, b16, s, 'bf16', 2, small ? 2 : 100, reps));
  b16.dispose();
  const copy = await copyRate(be, small ? 1 << 24 : 1 << 30, small ? 2 : 20, reps);
  const ratios = {
    forward_vs_dense: moe.forward.medianMs / dense.forward.medianMs,
    forward_backward_vs_dense: moe.forwardBackward.medianMs / dense.forwardBackward.medianMs,
    decode_fraction_of_copy: dec.map((r) => ({ weights: r.weights, fraction: r.weightTBps / copy.TBps })),
  };
  console.error(JSON.stringify(ratios));
  writeJson(argValue('--json'), {
    bench: 'moe',
    commit: gitCommit(),
    adapter: be.report(),
    shapes: { ...s, denseWidth: (s.k + s.shared) * s.F },
    checks: { small: smallCheck, full },
    forwardProfile,
    gemms,
    moe: { ...moe, tflopsForward: flopsMoe(s) / (moe.forward.medianMs * 1e-3) / 1e12, tflopsForwardBackward: (3 * flopsMoe(s)) / (moe.forwardBackward.medianMs * 1e-3) / 1e12 },
    dense,
    decode: dec,
    copy,
    ratios,
  });
  for (const p of [x]) p.dispose();
  layer.dispose();
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
