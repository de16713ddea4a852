/**
 * bench/attention: HSA and SWA kernels on the GPU, in the layout of the attention benchmarks
 * (batch 1, 32 query heads, 2 KV heads = 2 retrieval heads, head size 128, retrieval dim 64 per head,
 * S = 64, k = 16, softmax fusion). Landmarks and chunk K/V f32 for prefill, packed bf16 for decode
 * (in parts of ≤ one binding: 16M tokens is 16 GiB of bf16 K+V), all filled on the device by a hash.
 *   decode: one HSA step (landmark scan + merge, chunk attention over the k chosen chunks, fusion);
 *     beside the defaults, their previous versions: the retrieval's rank top-k (v2; the default
 *     bounds the k-th first), the chunk attention's tile variant and one dispatch a memory part (the
 *     default: head variant, the parts bound together)
 *   prefill: retrieval + chunk attention for every token of a 32K / 128K sequence
 *   swa: SWA forward at 32K with W = 4K
 *   train: forward + backward of retrieval + chunk attention at 16K / 64K / 128K tokens (gradients of
 *     q, qr, the landmarks and the chunk memory K/V), against FlashAttention's forward + backward
 * Every case is checked against the CPU references (sampled rows) before it is timed.
 * bench/attention_torch.py is the same-run PyTorch baseline.
 */
import {
  hsaChunkAttentionForward,
  hsaPlaneSum,
  hsaSelect,
  hsaChunkAttentionDecodeRef,
  hsaRetrievalDecodeRef,
  swaAttentionForwardRef,
  unpackHalf,
} from '@hsa/kernels';
import { cast, hsaChunkAttention, hsaRetrieval, hsaRetrievalDecode, swaAttention, Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, backendOptions, gitCommit, timeGpu, writeJson } from './common.js';
import { D, DR, f64, HK, HQ, K, RET, S } from './attention-shapes.js';
import { trainCase } from './attention-train.js';
import { randomTensor } from './fill.js';

/** Chunk c's K or V rows [S, Hk, D] of a part list, read back as float64. */
async function chunkRows(be: WebGpuBackend, parts: Tensor[], perPart: number, c: number): Promise<Float64Array> {
  const part = parts[Math.floor(c / perPart)];
  const row = S * HK * D;
  const bytes = part.dtype === 'bf16' ? 2 : 4;
  const buf = await be.read(part.storage, (c % perPart) * row * bytes, row * bytes);
  return part.dtype === 'bf16' ? Float64Array.from(unpackHalf(new Uint16Array(buf), 'bf16')) : Float64Array.from(new Float32Array(buf));
}

/** Checks token rows of a retrieval + chunk attention result against the CPU references. */
async function checkHsa(be: WebGpuBackend, io: { qr: Tensor; lmk: Tensor; q: Tensor; ks: Tensor[]; vs: Tensor[]; perPart: number }, res: { idx: Tensor; w: Tensor; out: Tensor }, rows: { t: number; pos: number }[]): Promise<number> {
  const [qr, lmk, q, idx, w, out] = await Promise.all([io.qr, io.lmk, io.q, res.idx, res.w, res.out].map(f64));
  const C = io.lmk.shape[0];
  let worst = 0;
  for (const { t, pos } of rows) {
    const [ri, rw] = [new Int32Array(HK * K), new Float64Array(HK * K)];
    hsaRetrievalDecodeRef([qr.subarray(t * HK * DR, (t + 1) * HK * DR), lmk, ri, rw], { ...RET, chunks: C, s: S, hr: HK, dr: DR, pos });
    for (let i = 0; i < HK * K; i++) {
      if (ri[i] !== idx[t * HK * K + i]) throw new Error(`retrieval idx mismatch at token ${t}: ${ri} vs ${idx.subarray(t * HK * K, (t + 1) * HK * K)}`);
      worst = Math.max(worst, Math.abs(rw[i] - w[t * HK * K + i]) / 1e-4);
    }
    // a compact memory of the chosen chunks: slot (g, j) → compact chunk g·K + j
    const mk = new Float64Array(HK * K * S * HK * D);
    const mv = new Float64Array(HK * K * S * HK * D);
    const cidx = new Int32Array(HK * K);
    for (let i = 0; i < HK * K; i++) {
      mk.set(await chunkRows(be, io.ks, io.perPart, ri[i]), i * S * HK * D);
      mv.set(await chunkRows(be, io.vs, io.perPart, ri[i]), i * S * HK * D);
      cidx[i] = i;
    }
    const want = new Float64Array(HQ * D);
    hsaChunkAttentionDecodeRef([q.subarray(t * HQ * D, (t + 1) * HQ * D), mk, mv, cidx, rw, want], { hq: HQ, hk: HK, d: D, s: S, chunks: HK * K, k: K });
    for (let i = 0; i < HQ * D; i++) worst = Math.max(worst, Math.abs(want[i] - out[t * HQ * D + i]) / 1e-4);
  }
  return worst;
}

function memoryParts(be: WebGpuBackend, chunks: number, dtype: 'f32' | 'bf16', seed: number) {
  const chunkBytes = S * HK * D * (dtype === 'bf16' ? 2 : 4);
  const perPart = Math.min(chunks, Math.floor(Math.min(be.maxBindingBytes, 2 ** 31) / chunkBytes / 64) * 64);
  const ks: Tensor[] = [];
  const vs: Tensor[] = [];
  for (let c0 = 0, i = 0; c0 < chunks; c0 += perPart, i++) {
    const n = Math.min(perPart, chunks - c0);
    ks.push(randomTensor(be, [n * S, HK, D], seed + 2 * i, dtype));
    vs.push(randomTensor(be, [n * S, HK, D], seed + 2 * i + 1, dtype));
  }
  return { ks, vs, perPart };
}

async function decodeCase(be: WebGpuBackend, L: number) {
  const C = L / S;
  const pos = L;
  // landmarks bf16 like PyTorch's K/V (the f32 copy: the previous layout, the same values)
  const lmk = randomTensor(be, [C, HK, DR], 11, 'bf16');
  const lmk32 = cast(lmk, 'f32');
  const mem = memoryParts(be, C, 'bf16', 100);
  const qr = randomTensor(be, [1, HK, DR], 12, 'f32', 4);
  const q = randomTensor(be, [1, HQ, D], 13, 'f32', 2);
  const step = () => {
    const r = hsaRetrievalDecode(qr.reshape([HK, DR]), lmk, { ...RET, pos });
    const out = hsaChunkAttention(q, mem.ks, mem.vs, r.idx, r.w, { chunkSize: S });
    return { ...r, out };
  };
  const r0 = step();
  const err = await checkHsa(be, { qr, lmk, q, ...mem }, r0, [{ t: 0, pos }]);
  if (!(err <= 1)) throw new Error(`decode ${L}: check failed (${err})`);
  // beside the default (head variant, memory parts bound together): the previous versions, the tile
  // variant (16 heads a workgroup, v2) and one dispatch a memory part (4M and 16M: several parts)
  const baselines = { tile: { variant: 'tile' }, partPerDispatch: { partsPerDispatch: 1 } } as const;
  const attnOf = (o: object) => () => hsaChunkAttention(q, mem.ks, mem.vs, r0.idx, r0.w, { chunkSize: S, ...o });
  for (const [name, o] of Object.entries(baselines)) {
    const out = attnOf(o)();
    const e = await checkHsa(be, { qr, lmk, q, ...mem }, { ...r0, out }, [{ t: 0, pos }]);
    out.dispose();
    if (!(e <= 1)) throw new Error(`decode ${L}: ${name} check failed (${e})`);
  }
  // the retrieval's previous versions (v2: rank counting; v3: each offer bounded) and with half
  // and 2 or 4 times the scan's block length: the same chunks and weights as the default
  const blockLen = decodeBlockLen(C);
  const others = { rank: { topkMode: 'rank' }, threshold: { topkMode: 'threshold' }, halfBlocks: { blockLen: blockLen / 2 }, doubleBlocks: { blockLen: blockLen * 2 }, quadBlocks: { blockLen: blockLen * 4 } } as const;
  for (const [name, o] of [...Object.entries(others), ['f32Landmarks', {}] as const]) {
    const thr = hsaRetrievalDecode(qr.reshape([HK, DR]), name === 'f32Landmarks' ? lmk32 : lmk, { ...RET, pos, ...o });
    const [i0, i1, w0, w1] = await Promise.all([r0.idx, thr.idx, r0.w, thr.w].map(f64));
    if (i0.some((x, i) => x !== i1[i]) || w0.some((x, i) => Math.abs(x - w1[i]) > 1e-6)) throw new Error(`decode ${L}: retrieval ${name} differs`);
    for (const t of [thr.idx, thr.w, thr.sel]) t.dispose();
  }
  const dispose = (r: ReturnType<typeof step>) => {
    for (const t of [r.idx, r.w, r.sel, r.out]) t.dispose();
  };
  // a first timing of the whole step, thrown away: at 16M whichever step variant was timed first
  // measured 2.5-3.7× its time when timed second (0.55 / 0.66 / 0.50 ms against 0.18 / 0.20), in
  // three runs with either order; the chunk attention alone was faster bound in all of them
  // (GPU clocks after the long fill are a suspect: the thrown-away steps run for at least a second)
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) await timeGpu(be, () => dispose(step()), 50, 3);
  const total = await timeGpu(be, () => dispose(step()), 50);
  // the whole step with one chunk-attention dispatch a memory part (fb012e8's way)
  const stepPartPerDispatch = await timeGpu(be, () => {
    const r = hsaRetrievalDecode(qr.reshape([HK, DR]), lmk, { ...RET, pos });
    const out = hsaChunkAttention(q, mem.ks, mem.vs, r.idx, r.w, { chunkSize: S, partsPerDispatch: 1 });
    dispose({ ...r, out });
  }, 50);
  const scan = await timeGpu(be, () => {
    const r = hsaRetrievalDecode(qr.reshape([HK, DR]), lmk, { ...RET, pos });
    for (const t of [r.idx, r.w, r.sel]) t.dispose();
  }, 50);
  const scanF32 = await timeGpu(be, () => {
    const r = hsaRetrievalDecode(qr.reshape([HK, DR]), lmk32, { ...RET, pos });
    for (const t of [r.idx, r.w, r.sel]) t.dispose();
  }, 50);
  const scanRank = await timeGpu(be, () => {
    const r = hsaRetrievalDecode(qr.reshape([HK, DR]), lmk, { ...RET, pos, topkMode: 'rank' });
    for (const t of [r.idx, r.w, r.sel]) t.dispose();
  }, 50);
  const attn = await timeGpu(be, () => hsaChunkAttention(q, mem.ks, mem.vs, r0.idx, r0.w, { chunkSize: S }).dispose(), 50);
  const attnBase: Record<string, Awaited<ReturnType<typeof timeGpu>>> = {};
  for (const [name, o] of Object.entries(baselines)) attnBase[name] = await timeGpu(be, () => attnOf(o)().dispose(), 50);
  const lmkTBps = (C * HK * DR * 2) / (scan.medianMs * 1e-3) / 1e12;
  console.error(`decode ${L}: step ${total.medianMs.toFixed(4)} ms (a part a dispatch ${stepPartPerDispatch.medianMs.toFixed(4)} ms; retrieval ${scan.medianMs.toFixed(4)} ms, with f32 landmarks ${scanF32.medianMs.toFixed(4)} ms, rank top-k (v2) ${scanRank.medianMs.toFixed(4)} ms, ${lmkTBps.toFixed(2)} TB/s of landmarks; chunk attention ${attn.medianMs.toFixed(4)} ms, tile ${attnBase.tile.medianMs.toFixed(4)} ms, a part a dispatch ${attnBase.partPerDispatch.medianMs.toFixed(4)} ms), check ${err.toFixed(3)}`);
  const profile = await decodeProfile(be, { qr, lmk, lmk32, q, ...mem }, pos);
  for (const t of [lmk, lmk32, qr, q, ...mem.ks, ...mem.vs]) t.dispose();
  dispose(r0);
  return { context: L, chunks: C, parts: mem.ks.length, step: total, stepPartPerDispatch, retrieval: scan, retrievalF32Landmarks: scanF32, retrievalRank: scanRank, chunkAttention: attn, chunkAttentionTile: attnBase.tile, chunkAttentionPartPerDispatch: attnBase.partPerDispatch, profile, landmarkTBps: lmkTBps, checkErrorOverTol: err };
}

/** Each dispatch of a decode step alone, into preallocated buffers (where the step's time goes). */
/** The decode retrieval's default scan block length over C chunks (hsaRetrieval's rule for one token). */
const decodeBlockLen = (C: number) => Math.max(256, Math.ceil((C * HK) / 256 / 256) * 256);

async function decodeProfile(be: WebGpuBackend, io: { qr: Tensor; lmk: Tensor; lmk32: Tensor; q: Tensor; ks: Tensor[]; vs: Tensor[] }, pos: number) {
  const C = io.lmk.shape[0];
  const blockLen = decodeBlockLen(C);
  const sp = { t: 1, chunks: C, s: S, hr: HK, hk: HK, dr: DR, topk: K, mode: 'softmax' as const, posOffset: pos, pass: 'scan' as const, blockLen, lmkDtype: 'bf16' as const };
  const nb = Math.ceil(C / blockLen);
  const cs = Tensor.empty(be, [HK, 2 * nb, K], 'f32');
  const ci = Tensor.empty(be, [HK, 2 * nb, K], 'u32');
  const [idx, w] = [Tensor.empty(be, [1, HK, K], 'i32'), Tensor.empty(be, [1, HK, K], 'f32')];
  const sel = Tensor.empty(be, [1, HK, K], 'f32');
  const planes = Tensor.empty(be, [K, 1, HQ, D], 'f32');
  const out = Tensor.empty(be, [1, HQ, D], 'f32');
  const qr = io.qr.reshape([1, HK, DR]);
  const scan = () => be.run(hsaSelect, sp, [qr.arg(), io.lmk.arg(), cs.arg(), ci.arg()]);
  const merge = () => be.run(hsaSelect, { ...sp, pass: 'merge' }, [cs.arg(), ci.arg(), idx.arg(), w.arg(), sel.arg()]);
  const rk = { ...sp, topkMode: 'rank' as const };
  const scanR = () => be.run(hsaSelect, rk, [qr.arg(), io.lmk.arg(), cs.arg(), ci.arg()]);
  const mergeR = () => be.run(hsaSelect, { ...rk, pass: 'merge' }, [cs.arg(), ci.arg(), idx.arg(), w.arg(), sel.arg()]);
  const scanT = () => be.run(hsaSelect, { ...sp, topkMode: 'threshold' }, [qr.arg(), io.lmk.arg(), cs.arg(), ci.arg()]);
  const scanF32 = () => be.run(hsaSelect, { ...sp, lmkDtype: 'f32' }, [qr.arg(), io.lmk32.arg(), cs.arg(), ci.arg()]);
  const mergeT = () => be.run(hsaSelect, { ...sp, topkMode: 'threshold', pass: 'merge' }, [cs.arg(), ci.arg(), idx.arg(), w.arg(), sel.arg()]);
  const blocks = (f: number) => {
    const bp = { ...sp, blockLen: blockLen * f };
    return [() => be.run(hsaSelect, bp, [qr.arg(), io.lmk.arg(), cs.arg(), ci.arg()]), () => be.run(hsaSelect, { ...bp, pass: 'merge' }, [cs.arg(), ci.arg(), idx.arg(), w.arg(), sel.arg()])];
  };
  const [scanHalf, mergeHalf] = blocks(0.5);
  const [scanDouble, mergeDouble] = blocks(2);
  const [scanQuad, mergeQuad] = blocks(4);
  scan();
  merge();
  const cn = io.ks[0].shape[0] / S;
  const ap = { t: 1, hq: HQ, hk: HK, d: D, s: S, chunks: C, k: K, kv: 'bf16' as const, c0: 0, cn, jsplit: K, plane0: 0 };
  const attnOf = (o: { variant: 'tile' | 'head' }) => () => be.run(hsaChunkAttentionForward, { ...ap, ...o }, [io.q.arg(), io.ks[0].arg(), io.vs[0].arg(), idx.arg(), w.arg(), planes.arg()]);
  const sum = () => be.run(hsaPlaneSum, { n: HQ * D, planes: K }, [planes.arg(), out.arg()]);
  const res: Record<string, number> = {};
  for (const [name, f] of [['scan', scan], ['merge', merge], ['scanThreshold', scanT], ['scanF32Landmarks', scanF32], ['mergeThreshold', mergeT], ['scanRank', scanR], ['mergeRank', mergeR], ['scanHalfBlocks', scanHalf], ['mergeHalfBlocks', mergeHalf], ['scanDoubleBlocks', scanDouble], ['mergeDoubleBlocks', mergeDouble], ['scanQuadBlocks', scanQuad], ['mergeQuadBlocks', mergeQuad], ['chunkAttentionPart', attnOf({ variant: 'head' })], ['chunkAttentionPartTile', attnOf({ variant: 'tile' })], ['planeSum', sum], ['none', () => {}]] as const) {
    res[name] = (await timeGpu(be, f, 50)).medianMs;
  }
  for (const t of [cs, ci, idx, w, sel, planes, out, qr]) t.dispose();
  console.error(`decode ${pos} profile (ms): ${JSON.stringify(res)}`);
  return res;
}

async function prefillCase(be: WebGpuBackend, T: number, check: boolean) {
  const C = T / S;
  // token segments of ≤ 32K keep q [seg, 32, 128] f32 within one binding
  const seg = Math.min(T, 1 << 15);
  const segs = T / seg;
  const qrs = Array.from({ length: segs }, (_, i) => randomTensor(be, [seg, HK, DR], 21 + 10 * i, 'f32', 4));
  const qs = Array.from({ length: segs }, (_, i) => randomTensor(be, [seg, HQ, D], 23 + 10 * i, 'f32', 2));
  const lmk = randomTensor(be, [C, HK, DR], 22);
  const mem = memoryParts(be, C, 'f32', 200);
  const step = () =>
    qs.map((q, i) => {
      const r = hsaRetrieval(qrs[i], lmk, { ...RET, posOffset: i * seg });
      const out = hsaChunkAttention(q, mem.ks, mem.vs, r.idx, r.w, { chunkSize: S });
      return { ...r, out };
    });
  const free = (rs: ReturnType<typeof step>) => {
    for (const r of rs) for (const t of [r.idx, r.w, r.sel, r.out]) t.dispose();
  };
  const r0 = step();
  const rows = [0, 63, 64, 200, seg - 1].map((t) => ({ t, pos: t }));
  const err = check ? await checkHsa(be, { qr: qrs[0], lmk, q: qs[0], ...mem }, r0[0], rows) : Number.NaN;
  if (check && !(err <= 1)) throw new Error(`prefill ${T}: check failed (${err})`);
  free(r0);
  // outputs are freed after each timing: the pool may destroy a large buffer released before submission
  const kept: ReturnType<typeof step>[] = [];
  const total = await timeGpu(be, () => { kept.push(step()); }, 2, 5);
  for (const r of kept.splice(0)) free(r);
  const keptR: Tensor[] = [];
  const ret = await timeGpu(be, () => {
    qrs.forEach((qr, i) => {
      const r = hsaRetrieval(qr, lmk, { ...RET, posOffset: i * seg });
      keptR.push(r.idx, r.w, r.sel);
    });
  }, 2, 5);
  for (const t of keptR) t.dispose();
  console.error(`prefill ${T}: ${total.medianMs.toFixed(2)} ms (retrieval ${ret.medianMs.toFixed(2)} ms), check ${err}`);
  for (const t of [...qrs, lmk, ...qs, ...mem.ks, ...mem.vs]) t.dispose();
  return { tokens: T, hsa: total, retrieval: ret, checkErrorOverTol: err };
}

async function swaCase(be: WebGpuBackend, T: number, window: number) {
  const q = randomTensor(be, [T, HQ, D], 31);
  const k = randomTensor(be, [T, HK, D], 32);
  const v = randomTensor(be, [T, HK, D], 33);
  const out = swaAttention(q, k, v, { window });
  const [qh, kh, vh, oh] = await Promise.all([q, k, v, out].map(f64));
  let worst = 0;
  for (const t of [0, 1000, T - 1]) {
    const lo = Math.max(0, t - window);
    const n = t - lo + 1;
    const want = new Float64Array(n * HQ * D);
    swaAttentionForwardRef([qh.subarray(lo * HQ * D, (t + 1) * HQ * D), kh.subarray(lo * HK * D, (t + 1) * HK * D), vh.subarray(lo * HK * D, (t + 1) * HK * D), want], { t: n, hq: HQ, hk: HK, d: D, window });
    for (let i = 0; i < HQ * D; i++) worst = Math.max(worst, Math.abs(want[(n - 1) * HQ * D + i] - oh[t * HQ * D + i]) / 1e-4);
  }
  if (!(worst <= 1)) throw new Error(`swa ${T}: check failed (${worst})`);
  out.dispose();
  const t = await timeGpu(be, () => swaAttention(q, k, v, { window }).dispose(), 1, 5);
  const tflops = (4 * T * HQ * D * Math.min(window + 1, T)) / (t.medianMs * 1e-3) / 1e12;
  console.error(`swa ${T} W=${window}: ${t.medianMs.toFixed(2)} ms (${tflops.toFixed(1)} TFLOP/s), check ${worst.toFixed(3)}`);
  for (const x of [q, k, v]) x.dispose();
  return { tokens: T, window, timing: t, tflops, checkErrorOverTol: worst };
}

async function main() {
  const be = await WebGpuBackend.create(backendOptions());
  const quick = process.argv.includes('--quick');
  // --decode: the decode steps only (what the HSA decode work needs measured)
  const decodeOnly = process.argv.includes('--decode');
  const decode = [];
  // --lengths 4096,1048576: other decode contexts (multiples of S)
  const lengths = argValue('--lengths')?.split(',').map(Number) ?? (quick ? [1 << 17] : [1 << 17, 1 << 20, 1 << 22, 1 << 24]);
  for (const L of lengths) decode.push(await decodeCase(be, L));
  const prefill = [];
  for (const T of quick ? [1 << 10] : decodeOnly ? [] : [1 << 15, 1 << 17]) {
    // known problem: at 128K a pooled buffer is destroyed while still encoded (backend pool, under investigation)
    try {
      prefill.push(await prefillCase(be, T, T <= 1 << 15));
    } catch (e) {
      console.error(`prefill ${T} failed: ${(e as Error).message}`);
      prefill.push({ tokens: T, error: String((e as Error).message).split('\n')[0] });
    }
  }
  const swa = decodeOnly ? [] : [await swaCase(be, quick ? 1024 : 1 << 15, quick ? 256 : 4096)];
  const train = [];
  // --quick: 512 tokens in two segments (the segment join is checked too), one timed step (SwiftShader
  // takes minutes a step); 128K runs in four segments of 32K
  for (const T of quick ? [1 << 9] : decodeOnly ? [] : [1 << 14, 1 << 16, 1 << 17]) {
    try {
      train.push(await trainCase(be, T, true, quick ? { seg: 256, reps: 1 } : {}));
    } catch (e) {
      console.error(`train ${T} failed: ${(e as Error).message}`);
      train.push({ tokens: T, error: String((e as Error).message).split('\n')[0] });
    }
  }
  writeJson(argValue('--json'), {
    bench: 'attention',
    commit: gitCommit(),
    adapter: be.report(),
    // memory parts one chunk-attention dispatch binds: (this − 4) / 2
    maxStorageBuffersPerStage: be.caps.maxStorageBuffers,
    shapes: { hq: HQ, hk: HK, d: D, dr: DR, s: S, k: K, fusion: 'softmax', decodeKv: 'bf16', prefillKv: 'f32' },
    decode,
    prefill,
    swa,
    train,
  });
  be.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
