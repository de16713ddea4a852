/**
 * bench/train-step: one forward + backward + AdamW step of the dense model of train-step-model.ts
 * (default d 512, 12 layers, 8 heads, SwiGLU 1536, vocab 32000, one sequence of 4096 tokens), f32.
 *
 * Before timing: (1) a tiny config run on the CPU backend and on WebGPU must agree on the loss and on
 * every parameter's gradient; (2) step 0 of the full config records its loss and global gradient
 * norm (the NaN/Inf guard runs here), which bench/merge.py compares with the same-run PyTorch step 0
 * on bit-identical weights. Timing: `iters` steps encoded into one submission, GPU timestamps around
 * them (bench/common.ts timeGpu), median of `reps`; plus the wall time of a guarded step (loss and
 * gradient-norm readbacks, as the Trainer does).
 *
 * --profile adds the step's pieces timed alone (train-step-profile.ts).
 *
 * Flags: --d --layers --heads --ffn --vocab --tokens --iters --reps --json PATH --profile --no-robustness --fused.
 * Here (SwiftShader):
 *   node --conditions=@hsa/source --import tsx bench/train-step.ts --d 64 --layers 2 --heads 2 \
 *     --ffn 128 --vocab 512 --tokens 128 --iters 1 --reps 3
 */
import { AdamW, type Backend, backward, CpuBackend, globalGradNorm, Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, BENCH_DAWN_FLAGS, gitCommit, timeGpu, writeJson } from './common.js';
import { byShape, profileRun } from './profile.js';
import { profileStep } from './train-step-profile.js';
import { type DenseConfig, DenseModel, hashTokens, INIT_STD, stepFlops } from './train-step-model.js';

const num = (flag: string, dflt: number) => Number(argValue(flag) ?? dflt);
const LR = 1e-4;
const ADAMW = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

/** The sequence: tokens+1 hashed ids, inputs ids[0..T), targets ids[1..T]. */
function batch(be: Backend, c: DenseConfig): { ids: Tensor; targets: Tensor } {
  const all = hashTokens(c.tokens + 1, 12345, c.vocab);
  return { ids: Tensor.from(be, all.subarray(0, c.tokens), [c.tokens], 'i32'), targets: Tensor.from(be, all.subarray(1), [c.tokens], 'i32') };
}

/** Forward + backward (gradients left in the parameters); returns the loss tensor. */
function forwardBackward(model: DenseModel, b: { ids: Tensor; targets: Tensor }): Tensor {
  const loss = model.loss(b.ids, b.targets);
  backward(loss);
  return loss;
}

/** CPU backend vs WebGPU on a tiny config: loss and every gradient. Throws on a mismatch. */
async function checkAgainstCpu(gpu: WebGpuBackend, fused: boolean): Promise<Record<string, number>> {
  // 2048 tokens: the weight gradients take the split-K path, as at the full size
  const c: DenseConfig = { vocab: 97, d: 32, layers: 2, heads: 2, ffn: 48, tokens: 2048, fused };
  const run = async (be: Backend) => {
    const m = new DenseModel(be, c);
    const loss = forwardBackward(m, batch(be, c));
    const l = (await loss.data())[0];
    const grads = await Promise.all(m.params.map(async (p) => Float64Array.from(p.grad ? await p.grad.data() : [])));
    m.dispose();
    return { l, grads, names: m.params.map((p) => p.name) };
  };
  const cpu = await run(new CpuBackend());
  const web = await run(gpu);
  const lossRel = Math.abs(cpu.l - web.l) / Math.abs(cpu.l);
  let worstGrad = 0;
  cpu.grads.forEach((g, i) => {
    const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
    const err = web.grads[i].reduce((m, v, j) => Math.max(m, Number.isNaN(v) ? Infinity : Math.abs(v - g[j])), 0) / scale;
    if (!(err <= 2e-4)) throw new Error(`CPU check: gradient of ${cpu.names[i]} differs by ${err} of its largest entry`);
    worstGrad = Math.max(worstGrad, err);
  });
  if (!(lossRel <= 1e-5)) throw new Error(`CPU check: loss ${web.l} on WebGPU vs ${cpu.l} on the CPU`);
  console.error(`CPU check (tiny config): loss rel ${lossRel.toExponential(2)}, worst gradient ${worstGrad.toExponential(2)} of its max`);
  return { loss: cpu.l, lossRelErr: lossRel, worstGradRelErr: worstGrad };
}

/** Step 0 of the full config through the guard (loss finite, gradients finite, global norm). */
async function stepZero(model: DenseModel, opt: AdamW, b: { ids: Tensor; targets: Tensor }) {
  const loss = forwardBackward(model, b);
  const l = (await loss.data())[0];
  loss.dispose();
  if (!Number.isFinite(l)) throw new Error(`step 0: loss is ${l}`);
  const gradNorm = await globalGradNorm(model.params);
  opt.update(LR);
  opt.zeroGrad();
  return { loss0: l, gradNorm0: gradNorm };
}

/** Wall time of `n` guarded steps (loss readback + gradient-norm readback each), median. */
async function guardedWallMs(model: DenseModel, opt: AdamW, b: { ids: Tensor; targets: Tensor }, n: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const loss = forwardBackward(model, b);
    await loss.data();
    loss.dispose();
    await globalGradNorm(model.params);
    opt.update(LR);
    opt.zeroGrad();
    await model.backend.sync();
    ms.push(performance.now() - t0);
  }
  return ms.sort((x, y) => x - y)[Math.floor(n / 2)];
}

/**
 * One step with a GPU timestamp before every dispatch (each in its own pass, so a pass switch per
 * dispatch is included), summed by kernel and by shape (profile.ts's byShape), largest first.
 */
async function kernelProfile(be: WebGpuBackend, step: () => void) {
  // steps queued right before, so that the profiled one starts on a busy card at full clock (a step
  // profiled after a pause ran its first half ~4× slower: the clock ramping up)
  for (let i = 0; i < 4; i++) step();
  const p = await profileRun(be, async () => step(), byShape);
  if (!p) return null;
  const rows = Object.entries(p.byKernel)
    .map(([name, ms]) => ({ name, count: p.counts[name] ?? 0, ms }))
    .sort((a, b) => b.ms - a.ms);
  for (const r of rows) console.error(`  ${r.name}: ${r.count} dispatches, ${r.ms.toFixed(3)} ms`);
  console.error(`  GPU span ${p.gpuSpanMs.toFixed(2)} ms over ${p.dispatches} dispatches`);
  return { gpuSpanMs: p.gpuSpanMs, dispatches: p.dispatches, rows };
}

async function main() {
  const c: DenseConfig = {
    d: num('--d', 512),
    layers: num('--layers', 12),
    heads: num('--heads', 8),
    ffn: num('--ffn', 1536),
    vocab: num('--vocab', 32000),
    tokens: num('--tokens', 4096),
    // --fused: q / k / v and gate / up as one batched product each (train-step-model.ts)
    fused: process.argv.includes('--fused'),
  };
  const iters = num('--iters', 2);
  const reps = num('--reps', 10);
  // --no-robustness: Dawn's bounds clamps off (WebGpuBackendOptions.robustness, opt-in)
  const robustness = !process.argv.includes('--no-robustness');
  const be = await WebGpuBackend.create({ maxPooledBytes: 16 * 2 ** 30, dawnFlags: BENCH_DAWN_FLAGS, robustness });
  const cpuCheck = await checkAgainstCpu(be, c.fused === true);
  const model = new DenseModel(be, c);
  const opt = new AdamW(model.params, ADAMW);
  const b = batch(be, c);
  const s0 = await stepZero(model, opt, b);
  console.error(`step 0: loss ${s0.loss0}, gradient norm ${s0.gradNorm0}`);
  const step = () => {
    forwardBackward(model, b).dispose();
    opt.update(LR);
    opt.zeroGrad();
  };
  const d0 = be.dispatches;
  step();
  const dispatchesPerStep = be.dispatches - d0;
  const t = await timeGpu(be, step, iters, reps);
  const guardedMs = await guardedWallMs(model, opt, b, 3);
  const profiling = process.argv.includes('--profile');
  // the pieces time the separate projections' calls: left out for the fused layout (the kernels' rows stay)
  const profile = profiling && !c.fused ? await profileStep(be, c, opt, t.medianMs) : null;
  const kernels = profiling ? await kernelProfile(be, step) : null;
  const flops = stepFlops(c);
  const tflops = flops.total / (t.medianMs * 1e-3) / 1e12;
  const tokensPerSecond = c.tokens / (t.medianMs * 1e-3);
  console.error(`step: ${t.medianMs.toFixed(2)} ms GPU (${t.clock}), ${tokensPerSecond.toFixed(0)} tokens/s, ${tflops.toFixed(2)} TFLOP/s; guarded wall ${guardedMs.toFixed(1)} ms`);
  writeJson(argValue('--json'), {
    bench: 'train-step',
    commit: gitCommit(),
    adapter: be.report(),
    dawnFlags: BENCH_DAWN_FLAGS,
    config: c,
    params: model.params.reduce((s, p) => s + p.value.size, 0),
    initStd: INIT_STD,
    optimizer: { lr: LR, ...ADAMW },
    flops,
    cpuCheck,
    ...s0,
    timing: t,
    tokensPerSecond,
    tflops,
    guardedStepWallMs: guardedMs,
    dispatchesPerStep,
    profile,
    kernels,
  });
  model.dispose();
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
