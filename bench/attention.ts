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
  chunkMmaUnsupported,
  hsaChunkAttentionForward,
  hsaPlaneSum,
  hsaSelect,
  hsaChunkAttentionDecodeRef,
  hsaRetrievalDecodeRef,
  swaMmaUnsupported,
  unpackHalf,
} from '@hsa/kernels';
import { cast, hsaChunkAttention, hsaDecodeStep, hsaRetrieval, hsaRetrievalDecode, Tensor, WebGpuBackend } from '@hsa/tensor';
import { argValue, backendOptions, gitCommit, lcg, type Timing, timeGpu, writeJson } from './common.js';
import { D, DR, f64, HK, HQ, K, RET, S } from './attention-shapes.js';
import { retrievalCheck } from './attention-retrieval.js';
import { swaCase, swaMmaCheck } from './attention-swa.js';
import { mmaBackwardCheck, trainCase, trainProfile } from './attention-train.js';
import { heat, randomTensor } from './fill.js';

/** Chunk c's K or V rows [S, Hk, D] of a part list, read back as float64. */
async function chunkRows(be: WebGpuBackend, parts: Tensor[], perPart: number, c: number): Promise<Float64Array> {
  const part = parts[Math.floor(c / perPart)];
  const row = S * HK * D;
  const bytes = part.dtype === 'f32' ? 4 : 2;
  const buf = await be.read(part.storage, (c % perPart) * row * bytes, row * bytes);
  return part.dtype === 'f32' ? Float64Array.from(new Float32Array(buf)) : Float64Array.from(unpackHalf(new Uint16Array(buf), part.dtype as 'bf16' | 'f16'));
}

/** Checks token rows of a retrieval + chunk attention result against the CPU references. */
async function checkHsa(be: WebGpuBackend, io: { qr: Tensor; lmk: Tensor; q: Tensor; ks: Tensor[]; vs: Tensor[]; perPart: number }, res: { idx: Tensor; w: Tensor; out: Tensor }, rows: { t: number; pos: number }[], outTol = 1e-4): Promise<number> {
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
    for (let i = 0; i < HQ * D; i++) worst = Math.max(worst, Math.abs(want[i] - out[t * HQ * D + i]) / outTol);
  }
  return worst;
}

function memoryParts(be: WebGpuBackend, chunks: number, dtype: 'f32' | 'bf16' | 'f16', seed: number) {
  const chunkBytes = S * HK * D * (dtype === 'f32' ? 4 : 2);
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

/**
 * Steps a timed submission of the decode cases (GPU-timestamp quanta of 65.5 µs: 0.66 µs a step;
 * at most 1024 dispatches, the backend's flush, so the GPU never waits for the host inside one).
 */
const DECODE_ITERS = 100;
/** Warm-up of each decode case, thrown away (HSA_WARM_MS overrides). */
const WARM_MS = Number(process.env.HSA_WARM_MS ?? 1000);

/** timeGpu after 150 ms of heavy work (heat): decode timings taken at an idling clock measured up to 3× long. */
async function timeHot(be: WebGpuBackend, f: () => void, iters: number, reps?: number): Promise<Timing> {
  await heat(be, 150);
  return timeGpu(be, f, iters, reps);
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
  // one decode step (hsaDecodeStep: the merge inside the chunk attention, v6); `o`: options of a baseline
  const step = (o: object = {}, ro: object = {}) => hsaDecodeStep(q, qr, lmk, mem.ks, mem.vs, { ...RET, pos, ...o, ...ro });
  const r0 = step();
  const err = await checkHsa(be, { qr, lmk, q, ...mem }, r0, [{ t: 0, pos }]);
  // the step before v6 (hsaRetrieval's merge dispatch, then hsaChunkAttention) checked the same way
  const apart = { fuseMerge: false };
  const errApart = await checkHsa(be, { qr, lmk, q, ...mem }, step(apart), [{ t: 0, pos }]);
  if (!(err <= 1 && errApart <= 1)) throw new Error(`decode ${L}: check failed (${err}, ${errApart})`);
  // beside the default (decode variant v5, 4 slots a workgroup, memory parts bound together): the
  // head variant (the previous default), v5 over one slot and over all slots a workgroup, the tile
  // variant (16 heads a workgroup, v2) and one dispatch a memory part (4M and 16M: several parts)
  const baselines = { head: { variant: 'head' }, decode16: { slotSplit: 16 }, decodeAll: { slotSplit: 1 }, tile: { variant: 'tile' }, partPerDispatch: { partsPerDispatch: 1 } } as const;
  const attnOf = (o: object) => () => hsaChunkAttention(q, mem.ks, mem.vs, r0.idx, r0.w, { chunkSize: S, ...o });
  for (const [name, o] of Object.entries(baselines)) {
    const out = attnOf(o)();
    const e = await checkHsa(be, { qr, lmk, q, ...mem }, { ...r0, out }, [{ t: 0, pos }]);
    out.dispose();
    if (!(e <= 1)) throw new Error(`decode ${L}: ${name} check failed (${e})`);
  }
  // the retrieval's previous versions (v2: rank counting; v3: each offer bounded; v4: the merge bounded) and with half
  // and 2 or 4 times the scan's block length: the same chunks and weights as the default
  const blockLen = decodeBlockLen(C);
  const others = { rank: { topkMode: 'rank' }, threshold: { topkMode: 'threshold' }, bound: { topkMode: 'bound' }, halfBlocks: { blockLen: blockLen / 2 }, doubleBlocks: { blockLen: blockLen * 2 }, quadBlocks: { blockLen: blockLen * 4 } } as const;
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
  while (performance.now() - t0 < WARM_MS) await timeHot(be, () => dispose(step()), DECODE_ITERS, 3);
  const created0 = be.pool.created;
  const total = await timeHot(be, () => dispose(step()), DECODE_ITERS);
  const createdFirst = be.pool.created - created0;
  const stepApart = await timeHot(be, () => dispose(step(apart)), DECODE_ITERS);
  // the whole step with one chunk-attention dispatch a memory part (fb012e8's way)
  const stepPartPerDispatch = await timeHot(be, () => dispose(step(baselines.partPerDispatch)), DECODE_ITERS);
  // the whole step with the previous default chunk attention (head variant: a workgroup a slot, planes summed)
  const stepHead = await timeHot(be, () => dispose(step(baselines.head)), DECODE_ITERS);
  // the whole step with the previous default retrieval (v4, topkMode 'bound': rank counting in workgroup memory)
  const stepBound = await timeHot(be, () => dispose(step({}, others.bound)), DECODE_ITERS);
  const stepApartLast = await timeHot(be, () => dispose(step(apart)), DECODE_ITERS);
  const scan = await timeHot(be, () => {
    const r = hsaRetrievalDecode(qr.reshape([HK, DR]), lmk, { ...RET, pos });
    for (const t of [r.idx, r.w, r.sel]) t.dispose();
  }, DECODE_ITERS);
  const scanF32 = await timeHot(be, () => {
    const r = hsaRetrievalDecode(qr.reshape([HK, DR]), lmk32, { ...RET, pos });
    for (const t of [r.idx, r.w, r.sel]) t.dispose();
  }, DECODE_ITERS);
  const scanBound = await timeHot(be, () => {
    const r = hsaRetrievalDecode(qr.reshape([HK, DR]), lmk, { ...RET, pos, topkMode: 'bound' });
    for (const t of [r.idx, r.w, r.sel]) t.dispose();
  }, DECODE_ITERS);
  const attn = await timeHot(be, () => hsaChunkAttention(q, mem.ks, mem.vs, r0.idx, r0.w, { chunkSize: S }).dispose(), DECODE_ITERS);
  const attnBase: Record<string, Awaited<ReturnType<typeof timeGpu>>> = {};
  for (const [name, o] of Object.entries(baselines)) attnBase[name] = await timeHot(be, () => attnOf(o)().dispose(), DECODE_ITERS);
  const lmkTBps = (C * HK * DR * 2) / (scan.medianMs * 1e-3) / 1e12;
  console.error(`decode ${L}: step ${total.medianMs.toFixed(4)} ms (merge apart ${stepApart.medianMs.toFixed(4)} / ${stepApartLast.medianMs.toFixed(4)} ms; head variant ${stepHead.medianMs.toFixed(4)} ms; a part a dispatch ${stepPartPerDispatch.medianMs.toFixed(4)} ms; retrieval ${scan.medianMs.toFixed(4)} ms, with f32 landmarks ${scanF32.medianMs.toFixed(4)} ms, v4 top-k ${scanBound.medianMs.toFixed(4)} ms; step with it ${stepBound.medianMs.toFixed(4)} ms, ${lmkTBps.toFixed(2)} TB/s of landmarks; chunk attention ${attn.medianMs.toFixed(4)} ms, head ${attnBase.head.medianMs.toFixed(4)} ms, decode a slot a workgroup ${attnBase.decode16.medianMs.toFixed(4)} ms, over all slots ${attnBase.decodeAll.medianMs.toFixed(4)} ms, tile ${attnBase.tile.medianMs.toFixed(4)} ms, a part a dispatch ${attnBase.partPerDispatch.medianMs.toFixed(4)} ms), check ${err.toFixed(3)}`);
  const profile = await decodeProfile(be, { qr, lmk, lmk32, q, ...mem }, pos);
  // the whole step once more, last: it measured ±20% apart between runs where its parts did not
  const created1 = be.pool.created;
  const stepLast = await timeHot(be, () => dispose(step()), DECODE_ITERS);
  console.error(`decode ${L}: buffers created while timing the step first ${createdFirst}, last ${be.pool.created - created1}`);
  for (const t of [lmk, lmk32, qr, q, ...mem.ks, ...mem.vs]) t.dispose();
  dispose(r0);
  return { context: L, chunks: C, parts: mem.ks.length, step: total, stepLast, stepApart, stepApartLast, stepHead, stepPartPerDispatch, stepBound, retrieval: scan, retrievalF32Landmarks: scanF32, retrievalBound: scanBound, chunkAttention: attn, chunkAttentionHead: attnBase.head, chunkAttentionDecode16: attnBase.decode16, chunkAttentionDecodeAll: attnBase.decodeAll, chunkAttentionTile: attnBase.tile, chunkAttentionPartPerDispatch: attnBase.partPerDispatch, profile, landmarkTBps: lmkTBps, checkErrorOverTol: err };
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
  const scanB = () => be.run(hsaSelect, { ...sp, topkMode: 'bound' }, [qr.arg(), io.lmk.arg(), cs.arg(), ci.arg()]);
  const scanF32 = () => be.run(hsaSelect, { ...sp, lmkDtype: 'f32' }, [qr.arg(), io.lmk32.arg(), cs.arg(), ci.arg()]);
  const mergeB = () => be.run(hsaSelect, { ...sp, topkMode: 'bound', pass: 'merge' }, [cs.arg(), ci.arg(), idx.arg(), w.arg(), sel.arg()]);
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
  // the decode variant (v5): 4 slots a workgroup (the default; 4 planes), one (16 planes), all (straight into out, no sum)
  const attnDecode = (jsplit: number) => () => be.run(hsaChunkAttentionForward, { ...ap, jsplit, variant: 'decode' }, [io.q.arg(), io.ks[0].arg(), io.vs[0].arg(), idx.arg(), w.arg(), jsplit === 1 ? out.arg() : planes.arg()]);
  // v6: the merge inside the decode variant (4 slots a workgroup), from the scan's lists
  const mg = { blockLen, hr: HK, posOffset: pos, mode: 'softmax' as const, writeSel: true };
  const attnMerge = () => be.run(hsaChunkAttentionForward, { ...ap, jsplit: 4, variant: 'decode', merge: mg }, [io.q.arg(), io.ks[0].arg(), io.vs[0].arg(), cs.arg(), ci.arg(), idx.arg(), w.arg(), sel.arg(), planes.arg()]);
  const sum = () => be.run(hsaPlaneSum, { n: HQ * D, planes: K }, [planes.arg(), out.arg()]);
  const sum4 = () => be.run(hsaPlaneSum, { n: HQ * D, planes: 4 }, [planes.arg(), out.arg()]);
  // the fixed cost of a dependent dispatch: one workgroup adding one number
  const tiny = () => be.run(hsaPlaneSum, { n: 1, planes: 1 }, [planes.arg(), out.arg()]);
  const res: Record<string, number> = {};
  for (const [name, f] of [['scan', scan], ['merge', merge], ['scanBound', scanB], ['scanF32Landmarks', scanF32], ['mergeBound', mergeB], ['scanRank', scanR], ['mergeRank', mergeR], ['scanHalfBlocks', scanHalf], ['mergeHalfBlocks', mergeHalf], ['scanDoubleBlocks', scanDouble], ['mergeDoubleBlocks', mergeDouble], ['scanQuadBlocks', scanQuad], ['mergeQuadBlocks', mergeQuad], ['chunkAttentionPartDecode', attnDecode(4)], ['chunkAttentionPartDecodeMerge', attnMerge], ['planeSum4', sum4], ['chunkAttentionPartDecode16', attnDecode(K)], ['chunkAttentionPartDecodeAll', attnDecode(1)], ['chunkAttentionPart', attnOf({ variant: 'head' })], ['chunkAttentionPartTile', attnOf({ variant: 'tile' })], ['planeSum', sum], ['tinyDispatch', tiny], ['none', () => {}]] as const) {
    res[name] = (await timeHot(be, f, DECODE_ITERS)).medianMs;
  }
  for (const t of [cs, ci, idx, w, sel, planes, out, qr]) t.dispose();
  console.error(`decode ${pos} profile (ms): ${JSON.stringify(res)}`);
  return res;
}

/**
 * Chunk attention's mma variant (f16 subgroup matrices) against the tile variant (f32, checked against
 * float64 in CI) on whole outputs, at awkward shapes: few tokens, padded head blocks (8 heads a KV
 * head), two head blocks (32), invalid and zero-weight slots, memory parts, f32 / bf16 / f16 memory,
 * D 64 and 128, S 64 and 128. Tolerance: f16 rounding of Q, K, V and the probabilities (5e-3 of the
 * largest |V|, values in [−1, 1]). Throws on a mismatch.
 */
async function mmaCheck(be: WebGpuBackend, variant: 'mma' | 'head' = 'mma'): Promise<{ cases: number; worst: number }> {
  const cases = [
    { t: 1, hq: 16, hk: 1, d: 64, s: 64, chunks: 3, kv: 'f32', parts: 1 },
    { t: 77, hq: 16, hk: 2, d: 128, s: 64, chunks: 9, kv: 'bf16', parts: 1 },
    { t: 130, hq: 32, hk: 1, d: 64, s: 128, chunks: 5, kv: 'f16', parts: 1 },
    { t: 61, hq: 32, hk: 2, d: 128, s: 64, chunks: 20, kv: 'bf16', parts: 3 },
    { t: 19, hq: 12, hk: 4, d: 128, s: 64, chunks: 4, kv: 'f32', parts: 2 },
    // f16 memory is read by the matrix loads directly: one part and three (a switch on the part)
    { t: 45, hq: 32, hk: 2, d: 128, s: 64, chunks: 11, kv: 'f16', parts: 1 },
    { t: 33, hq: 24, hk: 3, d: 64, s: 64, chunks: 10, kv: 'f16', parts: 3 },
  ] as const;
  let worst = 0;
  for (const [n, c] of cases.entries()) {
    const k = 16;
    const q = randomTensor(be, [c.t, c.hq, c.d], 300 + n, 'f32', 2);
    const per = Math.ceil(c.chunks / c.parts);
    const mk = (seed: number) =>
      Array.from({ length: c.parts }, (_, i) => {
        const rows = Math.min(per, c.chunks - i * per) * c.s;
        return randomTensor(be, [rows, c.hk, c.d], seed + i, c.kv);
      });
    const [ks, vs] = [mk(400 + 10 * n), mk(500 + 10 * n)];
    const idxH = new Int32Array(c.t * c.hk * k);
    const wH = new Float32Array(c.t * c.hk * k);
    const rnd = lcg(77 + n);
    for (let i = 0; i < idxH.length; i++) {
      const r = rnd();
      idxH[i] = r < 0.1 ? -1 : Math.floor(rnd() * c.chunks);
      wH[i] = idxH[i] < 0 || r > 0.9 ? 0 : rnd();
    }
    const idx = Tensor.from(be, idxH, [c.t, c.hk, k], 'i32');
    const w = Tensor.from(be, wH, [c.t, c.hk, k]);
    const opts = { chunkSize: c.s };
    const [a, b] = [hsaChunkAttention(q, ks, vs, idx, w, { ...opts, variant }), hsaChunkAttention(q, ks, vs, idx, w, { ...opts, variant: 'tile' })];
    const [x, y] = await Promise.all([a, b].map(f64));
    await be.sync();
    let e = 0;
    for (let i = 0; i < x.length; i++) e = Math.max(e, Number.isFinite(x[i]) ? Math.abs(x[i] - y[i]) / 5e-3 : Number.POSITIVE_INFINITY);
    console.error(`mma check ${JSON.stringify(c)}: ${e.toFixed(3)} of tolerance`);
    if (!(e <= 1)) {
      const at = (z: Float64Array) => Array.from(z.subarray(0, 6), (v) => v.toPrecision(4)).join(' ');
      console.error(`  ${variant}: ${at(x)} | tile: ${at(y)} | row ${c.d}: ${at(x.subarray(c.d))} | ${at(y.subarray(c.d))}`);
    }
    worst = Math.max(worst, e);
    for (const t of [q, ...ks, ...vs, idx, w, a, b]) t.dispose();
  }
  if (!(worst <= 1)) throw new Error(`mma check failed (${worst})`);
  return { cases: cases.length, worst };
}

/**
 * Two retrievals of the same rows (idx, w [rows, K], sel [rows, K] scores): the same chunks with the
 * same weights, except where their sums' rounding breaks a near tie at the k-th place (a v2 sums in
 * another order than v1). Such rows must choose score lists equal within 1e-5 (relative to the row's
 * largest |score|); rows with the same chunks must agree on scores and weights within 1e-5. worst:
 * the largest of these differences.
 */
function compareSelections(x: Record<'ia' | 'ib' | 'wa' | 'wb' | 'sa' | 'sb', Float64Array>, k: number) {
  const rows = x.ia.length / k;
  let rowsDiffer = 0;
  let worst = 0;
  const fin = (v: number) => (Number.isFinite(v) ? v : -1e300);
  for (let r = 0; r < rows; r++) {
    const o = r * k;
    const scale = Math.max(1, ...Array.from(x.sa.subarray(o, o + k), (v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
    let sameChunks = true;
    for (let j = 0; j < k; j++) sameChunks &&= x.ia[o + j] === x.ib[o + j];
    if (sameChunks) {
      for (let j = 0; j < k; j++) {
        worst = Math.max(worst, Math.abs(x.wa[o + j] - x.wb[o + j]), Math.abs(fin(x.sa[o + j]) - fin(x.sb[o + j])) / scale);
      }
      continue;
    }
    rowsDiffer++;
    const sorted = (z: Float64Array) => Array.from(z.subarray(o, o + k), fin).sort((p, q) => q - p);
    const [pa, pb] = [sorted(x.sa), sorted(x.sb)];
    for (let j = 0; j < k; j++) worst = Math.max(worst, Math.abs(pa[j] - pb[j]) / scale);
  }
  return { rows, rowsDiffer, worst };
}

/**
 * Prefill at T tokens: retrieval + chunk attention. The default: the mma variant (f16 subgroup
 * matrices) over f16 K/V where the device has it, else the tile variant over f32 K/V; beside it in
 * the same run, mma over bf16 K/V (staged), the tile variant over f32 and mma over f32.
 */
async function prefillCase(be: WebGpuBackend, T: number, check: boolean) {
  const C = T / S;
  // token segments of ≤ 32K keep q [seg, 32, 128] f32 within one binding
  const seg = Math.min(T, 1 << 15);
  const segs = T / seg;
  const qrs = Array.from({ length: segs }, (_, i) => randomTensor(be, [seg, HK, DR], 21 + 10 * i, 'f32', 4));
  const qs = Array.from({ length: segs }, (_, i) => randomTensor(be, [seg, HQ, D], 23 + 10 * i, 'f32', 2));
  const lmk = randomTensor(be, [C, HK, DR], 22);
  const mma = chunkMmaUnsupported(be.caps, D, S) === null;
  type Cfg = { name: string; variant: 'mma' | 'tile'; kv: 'f32' | 'bf16' | 'f16' };
  const tileF32: Cfg = { name: 'tileF32', variant: 'tile', kv: 'f32' };
  // the baselines up to 128K (beyond it only the default runs: the crossover length)
  // mmaF16: K/V stored as f16, read by the matrix loads directly (mmaDirect); mmaBf16: staged
  const configs: Cfg[] = mma
    ? [
        { name: 'mmaF16', variant: 'mma', kv: 'f16' },
        { name: 'mmaBf16', variant: 'mma', kv: 'bf16' },
        ...(T <= 1 << 17 ? [tileF32, { name: 'mmaF32', variant: 'mma', kv: 'f32' } as Cfg] : []),
      ]
    : [tileF32];
  const results: Record<string, unknown> = {};
  let err = Number.NaN;
  for (const cfg of configs) {
    const mem = memoryParts(be, C, cfg.kv, 200);
    const step = () =>
      qs.map((q, i) => {
        const r = hsaRetrieval(qrs[i], lmk, { ...RET, posOffset: i * seg });
        const out = hsaChunkAttention(q, mem.ks, mem.vs, r.idx, r.w, { chunkSize: S, variant: cfg.variant });
        return { ...r, out };
      });
    const free = (rs: ReturnType<typeof step>) => {
      for (const r of rs) for (const t of [r.idx, r.w, r.sel, r.out]) t.dispose();
    };
    const r0 = step();
    const rows = [0, 63, 64, 200, seg - 1].map((t) => ({ t, pos: t }));
    // f16 products (mma): Q, K, V and the probabilities rounded to f16, see mmaCheck
    const e = check ? await checkHsa(be, { qr: qrs[0], lmk, q: qs[0], ...mem }, r0[0], rows, cfg.variant === 'mma' ? 5e-3 : 1e-4) : Number.NaN;
    if (check && !(e <= 1)) throw new Error(`prefill ${T} ${cfg.name}: check failed (${e})`);
    if (cfg === configs[0]) err = e;
    free(r0);
    // outputs are freed after each timing: the pool may destroy a large buffer released before submission
    const kept: ReturnType<typeof step>[] = [];
    const total = await timeGpu(be, () => { kept.push(step()); }, 2, 5);
    for (const r of kept.splice(0)) free(r);
    results[cfg.name] = { timing: total, kv: cfg.kv, variant: cfg.variant, checkErrorOverTol: e };
    console.error(`prefill ${T} ${cfg.name}: ${total.medianMs.toFixed(2)} ms, check ${e}`);
    for (const t of [...mem.ks, ...mem.vs]) t.dispose();
  }
  // the retrieval alone, then its previous versions (fused v2, v1) after checking they choose the
  // same chunks with the same weights on the first segment
  const timeRet = async (fusedVersion: 1 | 2 | 3) => {
    const keptR: Tensor[] = [];
    const t = await timeGpu(be, () => {
      qrs.forEach((qr, i) => {
        const r = hsaRetrieval(qr, lmk, { ...RET, posOffset: i * seg, fusedVersion });
        keptR.push(r.idx, r.w, r.sel);
      });
    }, 2, 5);
    for (const x of keptR) x.dispose();
    return t;
  };
  const ret = await timeRet(3);
  // v3 against v2 (the same scores: equal lists expected) and v2 against v1 (near ties may differ)
  const pick = async (fusedVersion: 1 | 2 | 3) => {
    const r = hsaRetrieval(qrs[0], lmk, { ...RET, fusedVersion });
    const [i, w, s] = await Promise.all([r.idx, r.w, r.sel].map(f64));
    for (const x of [r.idx, r.w, r.sel]) x.dispose();
    return { i, w, s };
  };
  const [p3, p2, p1] = [await pick(3), await pick(2), await pick(1)];
  const compare = (x: typeof p1, y: typeof p1, what: string) => {
    const cmp = compareSelections({ ia: x.i, ib: y.i, wa: x.w, wb: y.w, sa: x.s, sb: y.s }, K);
    console.error(`prefill ${T}: retrieval ${what}: ${cmp.rowsDiffer} of ${cmp.rows} rows choose other chunks (near ties), worst ${cmp.worst.toExponential(2)}`);
    if (!(cmp.worst <= 1e-5) || cmp.rowsDiffer > cmp.rows / 1000) throw new Error(`prefill ${T}: retrieval ${what} differ (${JSON.stringify(cmp)})`);
    return cmp;
  };
  const retrievalV3VsV2 = compare(p3, p2, 'v3 vs v2');
  const retrievalV2VsV1 = compare(p2, p1, 'v2 vs v1');
  const retrievalV2 = { timing: await timeRet(2) };
  const retrievalV1 = { timing: await timeRet(1) };
  const first = results[configs[0].name] as { timing: Timing };
  const ms = (x: Timing) => x.medianMs.toFixed(2);
  console.error(`prefill ${T}: ${ms(first.timing)} ms (retrieval ${ms(ret)} ms, v2 ${ms(retrievalV2.timing)}, v1 ${ms(retrievalV1.timing)}), check ${err}`);
  for (const t of [...qrs, lmk, ...qs]) t.dispose();
  return { tokens: T, hsa: first.timing, default: configs[0].name, variants: results, retrieval: ret, retrievalV2, retrievalV1, retrievalV3VsV2, retrievalV2VsV1, checkErrorOverTol: err };
}

async function main() {
  // f16 subgroup matrices (tensor cores) where the adapter has them, unless --no-subgroup-matrix
  const be = await WebGpuBackend.create({ ...backendOptions(), subgroupMatrix: !process.argv.includes('--no-subgroup-matrix') });
  const quick = process.argv.includes('--quick');
  // --decode: the decode steps only (what the HSA decode work needs measured); --prefill: prefill only
  const decodeOnly = process.argv.includes('--decode');
  const prefillOnly = process.argv.includes('--prefill');
  // --train: the training step only (16K / 64K / 128K, or --train-lengths), each with its profile
  const trainOnly = process.argv.includes('--train');
  // --swa: the SWA forward only (the default, and the f32 tiles beside it), after its mma check
  const swaOnly = process.argv.includes('--swa');
  const mmaWhy = chunkMmaUnsupported(be.caps, D, S);
  // --mma-check-head: the same checks with the head variant in mma's place (tries the harness where
  // the device has no subgroup matrices)
  const mmaChecks = mmaWhy === null ? await mmaCheck(be) : process.argv.includes('--mma-check-head') ? await mmaCheck(be, 'head') : { unsupported: mmaWhy };
  const mmaBackwardChecks = mmaWhy === null && !decodeOnly && !prefillOnly && !swaOnly ? await mmaBackwardCheck(be) : { unsupported: mmaWhy ?? 'not run' };
  const decode = [];
  // the subgroup top-k against v4 on awkward shapes, before the decode steps are timed
  const retrievalChecks = prefillOnly || trainOnly || swaOnly || !be.caps.subgroups ? { unsupported: 'not run' } : await retrievalCheck(be);
  // --lengths 4096,1048576: other decode contexts (multiples of S)
  const lengths = argValue('--lengths')?.split(',').map(Number) ?? (quick ? [1 << 17] : [1 << 17, 1 << 20, 1 << 22, 1 << 24]);
  for (const L of prefillOnly || trainOnly || swaOnly ? [] : lengths) decode.push(await decodeCase(be, L));
  const prefill = [];
  // --prefill also runs 256K (where the crossover with FlashAttention is expected); --prefill-lengths
  // 131072: other prefill lengths (multiples of S; the float64 check runs up to 32K)
  const prefillLengths = argValue('--prefill-lengths')?.split(',').map(Number);
  for (const T of decodeOnly || trainOnly || swaOnly ? [] : quick ? [1 << 10] : prefillLengths ?? [1 << 15, 1 << 17, ...(prefillOnly ? [1 << 18] : [])]) {
    // known problem: at 128K a pooled buffer is destroyed while still encoded (backend pool, under investigation)
    try {
      prefill.push(await prefillCase(be, T, T <= 1 << 15));
    } catch (e) {
      console.error(`prefill ${T} failed: ${(e as Error).message}`);
      prefill.push({ tokens: T, error: String((e as Error).message).split('\n')[0] });
    }
  }
  const swaMma = swaMmaUnsupported(be.caps, D, HQ / HK) === null;
  const swaMmaChecks = swaMma && !decodeOnly && !prefillOnly && !trainOnly ? await swaMmaCheck(be) : { unsupported: 'not run' };
  const [swaT, swaW] = [quick ? 1024 : 1 << 15, quick ? 256 : 4096];
  const swa = decodeOnly || prefillOnly || trainOnly ? [] : [await swaCase(be, swaT, swaW), ...(swaMma ? [await swaCase(be, swaT, swaW, 'tiles')] : [])];
  // --swa: the mma variant's other layouts, each checked first (the first version: 4 tokens of 64-key
  // tiles, Q loaded every tile; smaller tiles for more tokens)
  for (const tile of swaMma && swaOnly ? [{ tokens: 4, kt: 64 }, { tokens: 8, kt: 32, qRegs: true }, { tokens: 24, kt: 16, qRegs: true }] : []) {
    await swaMmaCheck(be, tile);
    swa.push(await swaCase(be, swaT, swaW, 'mma', tile));
  }
  const train = [];
  // --quick: 512 tokens in two segments (the segment join is checked too), one timed step (SwiftShader
  // takes minutes a step); 128K runs in four segments of 32K
  const trainLengths = argValue('--train-lengths')?.split(',').map(Number) ?? [1 << 14, 1 << 16, 1 << 17];
  for (const T of quick ? [1 << 9] : decodeOnly || prefillOnly || swaOnly ? [] : trainLengths) {
    try {
      const o = quick ? { seg: 256, reps: 1 } : {};
      train.push({ ...(await trainCase(be, T, true, o)), ...(trainOnly ? await trainProfile(be, T, o) : {}) });
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
    shapes: { hq: HQ, hk: HK, d: D, dr: DR, s: S, k: K, fusion: 'softmax', decodeKv: 'bf16', prefillKv: mmaWhy === null ? 'f16' : 'f32' },
    mmaChecks,
    retrievalChecks,
    mmaBackwardChecks,
    swaMmaChecks,
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
