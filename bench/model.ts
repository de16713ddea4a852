/**
 * bench/model: the issue-7 model (random bf16 weights): vocab 32000, d 1024, 16 query heads, 1 KV head
 * (dh 64), 6 lower layers, 2 upper groups with R = 2, 1 encoder layer, S = 64, top-k 16, retrieval dim
 * 128, SWA 4096 (512 inside the HSA layers), MoE 64 experts / 4 active / width 256 + 1 shared, first
 * layer dense 2816, softmax fusion, QK-norm.
 *   check: the GPU forward against the CPU backend (same weights), and GPU decode against the GPU forward
 *   prefill: tokens/s of a 32K prompt (lazy upper decoder, and eager for comparison)
 *   decode: tokens/s (wall per step: decode + argmax + 1-int readback) at 4K, 128K, 1M and 16M tokens
 *     of context; one state grows through the lengths by real prefill while it fits the time budget,
 *     beyond that the chunk memory is filled synthetically (marked in the JSON)
 *   profile: one decode step with a GPU timestamp around every dispatch, summed by kernel name
 * Flags: --small (a tiny config for a local SwiftShader run), --json FILE, --budget-s N (prefill time budget).
 */
import { type HsaConfig, HsaModel, createDecodeState, type DecodeState, decodeStep, parameterSpecs, parseConfig, prefill } from '@hsa/model';
import { argmax, concat, CpuBackend, rope, type Backend, SafetensorsFile, serializeSafetensors, type SafetensorsTensorInput, Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, backendOptions, gitCommit, relDiff, timeGpu, writeJson } from './common.js';
import { profileRun } from './profile.js';
import { swaDecodeKernels } from './model-swa.js';

const SMALL = process.argv.includes('--small');
const CONFIG = {
  vocab_size: SMALL ? 512 : 32000,
  hidden_size: SMALL ? 128 : 1024,
  num_attention_heads: SMALL ? 2 : 16,
  num_kv_heads: 1,
  num_key_value_heads: 1,
  intermediate_size: SMALL ? 256 : 2816,
  rms_norm_eps: 1e-6,
  layer_norm_epsilon: 1e-5,
  attention_bias: false,
  sliding_window: SMALL ? 256 : 4096,
  hsa_only: false,
  hsa_sliding_window: SMALL ? 64 : 512,
  num_lower_layers: SMALL ? 2 : 6,
  num_upper_groups: 2,
  num_upper_layers: 2,
  encoder_layers: 1,
  chunk_size: 64,
  chunk_topk: 16,
  retrieval_dim: 128,
  enable_softmax: true,
  enable_qk_norm: true,
  num_experts: SMALL ? 8 : 64,
  num_experts_per_tok: 4,
  moe_intermediate_size: SMALL ? 32 : 256,
  num_shared_experts: 1,
  first_k_dense_replace: 1,
  initializer_range: 0.02,
  pad_token_id: 0,
  lmk_token_id: 1,
  inference_segment: SMALL ? 1024 : 16384,
};
const PREFILL = SMALL ? 512 : 32768;
const LENGTHS = SMALL ? [256, 1024, 4096, 16384] : [4096, 131072, 1 << 20, 1 << 24];
const STEPS = SMALL ? 2 : 32;
/** --quick: decode at 4K and 128K only, no eager prefill */
const QUICK = process.argv.includes('--quick');
/** --prefill-to N: a real prefill to N tokens only (in pieces, decode timed on the way; see prefillLong) */
const PREFILL_TO = argValue('--prefill-to');

/** bf16 words of hash values in [−a, a) (norm weights ≈ 1). */
function randomBf16(n: number, seed: number, a: number, center: number): Uint16Array {
  const out = new Uint16Array(n);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    f[0] = center + (s / 2 ** 31 - 1) * a;
    out[i] = u[0] >>> 16;
  }
  return out;
}

function randomWeights(c: HsaConfig): SafetensorsFile {
  const tensors: Record<string, SafetensorsTensorInput> = {};
  parameterSpecs(c).forEach((p, i) => {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const norm = p.kind === 'vector' && p.name.endsWith('.weight');
    const bias = p.name.endsWith('expert_bias') || p.name.endsWith('.bias');
    tensors[p.name] = { dtype: 'BF16', shape: p.shape, data: randomBf16(n, 1000 + i, norm ? 0.1 : bias ? 0.01 : 0.04, norm ? 1 : 0) };
  });
  return SafetensorsFile.parse(serializeSafetensors(tensors));
}

const ids = (n: number, seed: number, vocab: number) => Array.from({ length: n }, (_, t) => (Math.imul(t + 1, 2654435761 + seed) >>> 8) % vocab);

async function rows(t: Tensor): Promise<Float32Array> {
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}


/**
 * GPU forward vs CPU forward on 24 tokens (the CPU backend needs minutes for more at this size),
 * and GPU prefill 100 + 50 decode steps vs the GPU forward of 150 tokens.
 */
async function check(gpu: HsaModel, file: SafetensorsFile, withCpu = true): Promise<Record<string, number>> {
  const x = ids(150, 1, gpu.config.vocabSize);
  let gpuVsCpu24 = Number.NaN;
  if (withCpu) {
    const cpu = HsaModel.load(new CpuBackend(), CONFIG, [{ label: 'random', file }]);
    const want24 = await rows(await cpu.forward(x.slice(0, 24)));
    cpu.dispose();
    gpuVsCpu24 = relDiff(await rows(await gpu.forward(x.slice(0, 24))), want24);
    console.error('check: CPU forward done');
  }
  const got = await rows(await gpu.forward(x));
  const state = createDecodeState(gpu);
  const dec = new Float32Array(got.length);
  dec.set(await rows(await prefill(x.slice(0, 100), state)), 0);
  for (let t = 100; t < x.length; t++) dec.set(await rows(await decodeStep(x[t], state)), t * gpu.config.vocabSize);
  state.dispose();
  const r = { gpuVsCpu24, decodeVsForward: relDiff(dec, got) };
  if (!((!withCpu || r.gpuVsCpu24 < 1e-3) && r.decodeVsForward < 1e-3)) throw new Error(`check failed: ${JSON.stringify(r)}`);
  return r;
}

async function timePrefill(model: HsaModel, n: number, lazy: boolean): Promise<{ tokens: number; ms: number; tokensPerSecond: number }> {
  const state = createDecodeState(model);
  const x = ids(n, 2, model.config.vocabSize);
  const t0 = performance.now();
  (await prefill(x, state, { logits: 'last', lazy })).dispose();
  const ms = performance.now() - t0;
  state.dispose();
  return { tokens: n, ms, tokensPerSecond: (n * 1000) / ms };
}

/** Wall ms per decode step (step + argmax + readback of the id), median of STEPS after 4 warm-up steps. */
async function timeDecode(state: DecodeState): Promise<{ medianMs: number; minMs: number }> {
  const ms: number[] = [];
  let id = 5;
  for (let i = 0; i < STEPS + 4; i++) {
    const t0 = performance.now();
    const l = await decodeStep(id, state);
    const a = argmax(l);
    l.dispose();
    id = (await a.data())[0];
    a.dispose();
    if (i >= 4) ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { medianMs: ms[Math.floor(ms.length / 2)], minMs: ms[0] };
}

/** Appends synthetic chunks (copies of one random block) until the state holds `target` tokens. */
function fillSynthetic(state: DecodeState, target: number, be: Backend): void {
  const c = state.model.config;
  const S = c.chunkSize;
  const need = Math.floor(target / S) - state.chunks;
  const blk = Math.min(4096, Math.max(need, 1));
  const kv = () => Tensor.from(be, Float32Array.from({ length: blk * S * c.kvHeads * c.headDim }, (_, i) => Math.sin(i * 0.37)), [blk * S, c.kvHeads, c.headDim]);
  const [k, v] = [kv(), kv()];
  const l = Tensor.from(be, Float32Array.from({ length: blk * c.retrievalDim }, (_, i) => Math.cos(i * 0.11)), [blk, c.retrievalHeads, c.retrievalHeadDim]);
  for (let done = 0; done < need; done += blk) {
    const n = Math.min(blk, need - done);
    state.store.append({ chunks: n, memK: k.slice(0, 0, n * S), memV: v.slice(0, 0, n * S), landmarks: l.slice(0, 0, n) });
  }
  for (const t of [k, v, l]) t.dispose();
  state.pos += need * S;
}

/**
 * Two of a prefill segment's kernels alone at its shapes (GPU time, 4 per submission): the concat of
 * the pending rows and a segment's hidden states (stridedCopy, [2 × 8192, 1024]) and RoPE of the
 * segment's queries ([16384, 16, 64] at position 1M).
 */
async function spotKernels(be: WebGpuBackend) {
  const seg = CONFIG.inference_segment;
  const d = CONFIG.hidden_size;
  const f = (shape: number[], seed: number) => Tensor.from(be, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.1 + seed)), shape);
  const [a, b, q] = [f([seg >> 1, d], 1), f([seg >> 1, d], 2), f([seg, CONFIG.num_attention_heads, d / CONFIG.num_attention_heads], 3)];
  const res = {
    concatMs: (await timeGpu(be, () => concat([a, b], 0).dispose(), 4, 5)).medianMs,
    ropeMs: (await timeGpu(be, () => rope(q, { theta: 10000, positionOffset: 1 << 20 }).dispose(), 4, 5)).medianMs,
    bytesEach: seg * d * 4,
  };
  for (const t of [a, b, q]) t.dispose();
  return res;
}

/** Decode timed at the state's length: the record both decode tables keep. */
async function decodeRecord(state: DecodeState, context: number, filledBy: string) {
  const t = await timeDecode(state);
  console.error(`decode @${context} (${filledBy}): ${t.medianMs.toFixed(2)} ms/token (${(1000 / t.medianMs).toFixed(1)} tok/s)`);
  return { context, chunks: state.chunks, memoryParts: 'parts' in state.store ? state.store.parts : 0, filledBy, ...t, tokensPerSecond: 1000 / t.medianMs };
}

/** One lazy prefill of one segment (a fresh state) with a timestamp before each dispatch. */
async function profilePrefill(be: WebGpuBackend, model: HsaModel) {
  const state = createDecodeState(model);
  try {
    return await profileRun(be, async () => (await prefill(ids(CONFIG.inference_segment, 4, model.config.vocabSize), state, { logits: 'last' })).dispose());
  } finally {
    state.dispose();
  }
}

/**
 * A real prefill of `n` tokens in pieces (to 4K, 128K, 1M, then 1M each; each piece one `prefill` call
 * continuing the state, timed to its last-token logits), decode timed at 4K, 128K, 1M, 4M and 16M on
 * the way (its 36 tokens stay in the context); stops early when `budgetS` would be passed.
 */
async function prefillLong(model: HsaModel, n: number, budgetS: number) {
  const stops = [4096, 1 << 17, 1 << 20, 1 << 22, 1 << 24];
  const state = createDecodeState(model);
  const pieces: { tokens: number; ms: number; tokensPerSecond: number }[] = [];
  const decode: Record<string, unknown>[] = [];
  const t0 = performance.now();
  let prefillMs = 0;
  let done = 0;
  while (state.pos < n) {
    const next = Math.min(n, stops.find((L) => L > state.pos && L - state.pos <= 1 << 20) ?? state.pos + (1 << 20));
    const len = next - state.pos;
    const last = pieces.at(-1);
    if (last && performance.now() - t0 + (last.ms / last.tokens) * len * 1.2 > budgetS * 1000) break;
    const t1 = performance.now();
    (await prefill(ids(len, 11 + state.pos, model.config.vocabSize), state, { logits: 'last' })).dispose();
    const ms = performance.now() - t1;
    prefillMs += ms;
    done += len;
    pieces.push({ tokens: len, ms, tokensPerSecond: (len * 1000) / ms });
    console.error(`prefill-long: ${state.pos} tokens, ${((performance.now() - t0) / 1000).toFixed(1)} s, piece ${((len * 1000) / ms).toFixed(0)} tok/s`);
    if (stops.includes(next) || state.pos >= n) decode.push(await decodeRecord(state, next, 'prefill'));
  }
  const pool = { liveBytes: model.backend instanceof WebGpuBackend ? model.backend.pool.liveBytes : 0 };
  state.dispose();
  return { target: n, reached: done, prefillMs, tokensPerSecond: (done * 1000) / prefillMs, pieces, decode, pool };
}

async function main() {
  const be = await WebGpuBackend.create(backendOptions());
  const budgetS = Number(argValue('--budget-s') ?? (SMALL ? 60 : 240));
  const config = parseConfig(CONFIG);
  const file = randomWeights(config);
  const model = HsaModel.load(be, CONFIG, [{ label: 'random', file }]);
  // the long run checks decode against the GPU forward only (the CPU check of the GPU forward, same
  // weights and code, is the main run's: minutes on the host that the long prefill needs)
  const checks = await check(model, file, !PREFILL_TO);
  console.error(`check ${JSON.stringify(checks)}`);
  await timePrefill(model, Math.min(4096, PREFILL), true); // compiles the pipelines
  const prefillLazy = await timePrefill(model, PREFILL, true);
  console.error(`prefill ${PREFILL}: lazy ${prefillLazy.tokensPerSecond.toFixed(0)} tok/s`);
  if (PREFILL_TO) {
    const long = await prefillLong(model, Number(PREFILL_TO), budgetS);
    writeJson(argValue('--json'), { bench: 'model-prefill-long', commit: gitCommit(), adapter: be.report(), config: CONFIG, parameters: model.parameterCount, checks, prefill: { lazy: prefillLazy }, long });
    model.dispose();
    be.destroy();
    return;
  }
  const swaDecode = await swaDecodeKernels(be, { hq: config.heads, hk: config.kvHeads, d: config.headDim, window: config.slidingWindow });
  console.error(`SWA decode kernel: v1 ${swaDecode.v1.medianMs.toFixed(4)} ms, v2 ${swaDecode.v2.medianMs.toFixed(4)} ms`);
  const prefillEager = QUICK ? null : await timePrefill(model, PREFILL, false);
  if (prefillEager) console.error(`prefill ${PREFILL}: eager ${prefillEager.tokensPerSecond.toFixed(0)} tok/s`);
  const spot = await spotKernels(be);
  console.error(`spot kernels: ${JSON.stringify(spot)}`);
  const prefillProfile = await profilePrefill(be, model);
  console.error(`prefill profile: ${JSON.stringify(prefillProfile)}`);
  const state = createDecodeState(model);
  const decode: Record<string, unknown>[] = [];
  let spent = 0;
  for (const L of QUICK ? LENGTHS.slice(0, 2) : LENGTHS) {
    const grow = L - state.pos;
    const estimate = (grow / prefillLazy.tokensPerSecond) * 1000 * 1.5;
    let how = 'prefill';
    const t0 = performance.now();
    if (spent + estimate < budgetS * 1000) {
      (await prefill(ids(grow, 3 + L, config.vocabSize), state, { logits: 'last' })).dispose();
      spent += performance.now() - t0;
    } else {
      fillSynthetic(state, L, be);
      how = 'synthetic';
    }
    const fillMs = performance.now() - t0;
    const record = await decodeRecord(state, L, how);
    const profile = await profileRun(be, async () => (await decodeStep(7, state)).dispose());
    decode.push({ ...record, fillMs, profile });
  }
  const at = (L: number) => decode.find((d) => d.context === L)?.medianMs as number | undefined;
  const [a, b] = [at(LENGTHS[0]), at(LENGTHS[2])];
  writeJson(argValue('--json'), {
    bench: 'model',
    commit: gitCommit(),
    adapter: be.report(),
    config: CONFIG,
    parameters: model.parameterCount,
    checks,
    swaDecode,
    prefill: { lazy: prefillLazy, eager: prefillEager },
    prefillProfile,
    spot,
    decode,
    ratio1MTo4K: a && b ? b / a : null,
  });
  state.dispose();
  model.dispose();
  be.destroy();
}

await main();
