/**
 * bench/moe-decode: the one-token decode step of bench/moe's layer (E 64, k 4, d 2048, F 704, one
 * shared expert; MoeLayer.decode: router matvec, gate/up choosing the experts, down + combine), f32
 * and bf16 experts, GPU time as a fraction of a copy kernel's rate in the same run (the floor: reading
 * the 4 + 1 experts once). The in-kernel selection's picks three ways in the same run: two subgroup
 * reductions a pick (moeRouter v4, the default), the shuffle butterfly (v3), the workgroup tree (v2);
 * and the gate/up dispatch alone each way.
 * Steps rotate over four copies of the layer, so no expert is still in the 60 MB L2 when read again;
 * the GPU is kept busy 2 s first (bench/fill heat: the H200 idles at a low clock).
 * Before timing: the f32 step against float64 on the host (weights are hash-filled, so the host
 * recomputes the chosen experts' rows), every variant's output and routing against the default's.
 * Flags: --small (E 8, k 2, d 128, F 64: runs on SwiftShader), --json PATH.
 */
import { type MoeRouterParams, moeGatherMatvec, swigluRow } from '@hsa/kernels';
import { expertsDecodeRouted, MoeLayer } from '@hsa/moe';
import { cast, matmul, Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, backendOptions, gitCommit, relDiff, type Timing, timeGpu, writeJson } from './common.js';
import { heat } from './fill.js';
import { copyRate, hashTensor } from './moe-kernels.js';
import { FULL, hashLayer, hostExpert, hostRows, hostShared, SMALL, type Size } from './moe-steps.js';

const X_SEED = 21;
type Picks = Pick<MoeRouterParams, 'selectOnSubgroups' | 'subgroupPicks'>;
const PICKS: Record<string, Picks> = { reduce: {}, butterfly: { subgroupPicks: 'butterfly' }, tree: { selectOnSubgroups: false } };

/** MoeLayer.decode with the selection's picks chosen. */
function step(layer: MoeLayer, x: Tensor, picks: Picks) {
  const logits = matmul(x, layer.gate, { transB: true });
  const r = expertsDecodeRouted(x, logits, layer.biasDevice, { ...layer.routerParams(), ...picks }, layer.experts, layer.shared);
  logits.dispose();
  return r;
}
const done = (r: { out: Tensor; idx: Tensor; weights: Tensor }) => {
  for (const t of [r.out, r.idx, r.weights]) t.dispose();
};

/** The f32 step's output against float64 for the GPU's experts and weights (worst error over 1e-4 of the magnitude). */
function checkF32(s: Size, out: Float32Array, idx: Int32Array, w: Float32Array): number {
  const { d } = s;
  const xt = hostRows(X_SEED, 1, 0, 1, d);
  const want = new Float64Array(d);
  const mag = new Float64Array(d);
  const add = (ex: { wg: Float64Array; wu: Float64Array; wd: Float64Array; F: number }, wj: number) => {
    const y = swigluRow(xt, 0, ex, 0, 0, d);
    for (let c = 0; c < d; c++) {
      want[c] += wj * y[c];
      mag[c] += Math.abs(wj * y[c]);
    }
  };
  idx.forEach((e, j) => {
    add(hostExpert(s, e), w[j]);
  });
  if (s.shared > 0) add(hostShared(s), 1);
  const m = mag.reduce((acc, v) => acc + v, 0) / d;
  let worst = 0;
  for (let c = 0; c < d; c++) worst = Math.max(worst, Math.abs(out[c] - want[c]) / (1e-4 * (mag[c] + m)));
  return worst;
}

/** Copies of a layer with its experts cast to `dt` (new buffers each). */
function copies(layer: MoeLayer, dt: 'f32' | 'bf16', n: number): MoeLayer[] {
  const c = (t: Tensor) => cast(t, dt);
  return Array.from({ length: n }, () =>
    MoeLayer.fromTensors(layer.config, {
      gate: cast(layer.gate, 'f32'),
      bias: layer.bias,
      experts: { gate: c(layer.experts.gate), up: c(layer.experts.up), down: c(layer.experts.down) },
      shared: layer.shared && { gate: c(layer.shared.gate), up: c(layer.shared.up), down: c(layer.shared.down) },
    }),
  );
}

async function decode(be: WebGpuBackend, layers: MoeLayer[], s: Size, label: 'f32' | 'bf16', iters: number, reps: number) {
  const x = hashTensor(be, [1, s.d], X_SEED, 1);
  const runs = Object.fromEntries(Object.entries(PICKS).map(([k, p]) => [k, step(layers[0], x, p)]));
  const out = await runs.reduce.out.data();
  const idx = (await runs.reduce.idx.data()) as Int32Array;
  const check: Record<string, unknown> = { routing: Array.from(idx).join() };
  for (const [k, r] of Object.entries(runs)) {
    const [ri, ro] = [Array.from(await r.idx.data()).join(), relDiff(await r.out.data(), out)];
    if (ri !== check.routing || !(ro <= 1e-6)) throw new Error(`decode ${label}: picks ${k} routed ${ri} (output differs by ${ro})`);
  }
  if (label === 'f32') {
    check.worstVsFloat64 = checkF32(s, out as Float32Array, idx, (await runs.reduce.weights.data()) as Float32Array);
    if (!((check.worstVsFloat64 as number) <= 1)) throw new Error(`decode f32 against float64: ${check.worstVsFloat64}`);
  }
  Object.values(runs).forEach(done);
  console.error(`decode ${label} checks: ${JSON.stringify(check)}`);
  let i = 0;
  const next = () => layers[i++ % layers.length];
  const time = (f: () => void) => timeGpu(be, f, iters, reps);
  const steps: Record<string, Timing> = {};
  const gateUp: Record<string, Timing> = {};
  // the default first and last around the others
  for (const k of ['reduce', 'butterfly', 'tree', 'reduce']) steps[steps[k] ? `${k}Last` : k] = await time(() => done(step(next(), x, PICKS[k])));
  const logits = matmul(x, layers[0].gate, { transB: true });
  const p = layers[0].routerParams();
  const [E, F] = layers[0].experts.gate.shape;
  const Fs = layers[0].shared ? layers[0].shared.gate.shape[0] : 0;
  const [gi, gw, act, actS] = [Tensor.empty(be, [p.k], 'i32'), Tensor.empty(be, [p.k]), Tensor.empty(be, [p.k, F]), Tensor.empty(be, [1, Math.max(Fs, 1)])];
  for (const [k, picks] of Object.entries(PICKS)) {
    gateUp[k] = await time(() => {
      const l = next();
      const sh = l.shared ? [l.shared.gate.arg(), l.shared.up.arg()] : [];
      be.run(moeGatherMatvec, { A: p.k, k: p.k, wDtype: label, shared: Fs, mode: 'gateUp', N: F, K: s.d, route: { ...p, E, ...picks } }, [x.arg(), gi.arg(), l.experts.gate.arg(), l.experts.up.arg(), ...sh, act.arg(), ...(Fs ? [actS.arg()] : []), logits.arg(), l.biasDevice.arg(), gw.arg()]);
    });
  }
  for (const t of [x, logits, gi, gw, act, actS]) t.dispose();
  const bytes = (s.k + s.shared) * 3 * s.F * s.d * (label === 'f32' ? 4 : 2);
  const us = (t: Timing) => (t.medianMs * 1e3).toFixed(1);
  console.error(`decode ${label} (µs): step ${Object.entries(steps).map(([k, t]) => `${k} ${us(t)}`).join(', ')}; gate/up alone ${Object.entries(gateUp).map(([k, t]) => `${k} ${us(t)}`).join(', ')}`);
  return { weights: label, layerCopies: layers.length, check, steps, gateUp, expertBytes: bytes, weightTBps: bytes / (steps.reduce.medianMs * 1e-3) / 1e12 };
}

async function main() {
  const be = await WebGpuBackend.create(backendOptions());
  const small = process.argv.includes('--small');
  const s: Size = { ...(small ? SMALL : FULL), T: 1 };
  const layer = hashLayer(be, s);
  const [iters, reps] = small ? [2, 3] : [100, 10];
  await heat(be, small ? 10 : 2000);
  const dec = [];
  for (const dt of ['f32', 'bf16'] as const) {
    const ls = copies(layer, dt, small ? 2 : 4);
    dec.push(await decode(be, ls, s, dt, iters, reps));
    for (const l of ls) l.dispose();
  }
  const copy = await copyRate(be, small ? 1 << 24 : 1 << 30, small ? 2 : 20, reps);
  const copyTBps = copy.TBps;
  const ratios = Object.fromEntries(
    dec.map((r) => [r.weights, { fractionOfCopy: r.weightTBps / copyTBps, butterflyOverReduce: r.steps.butterfly.medianMs / r.steps.reduce.medianMs, gateUpButterflyOverReduce: r.gateUp.butterfly.medianMs / r.gateUp.reduce.medianMs }]),
  );
  console.error(`copy ${copyTBps.toFixed(2)} TB/s; ${JSON.stringify(ratios)}`);
  writeJson(argValue('--json'), { bench: 'moe-decode', commit: gitCommit(), adapter: be.report(), shapes: s, decode: dec, copy, ratios });
  layer.dispose();
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
