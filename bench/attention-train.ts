/**
 * The training case of bench/attention: forward + backward of HSA attention (retrieval, then chunk
 * attention over the chosen chunks) for every token, gradients for q, qr, the landmarks and the chunk
 * memory K, V (f32), against FlashAttention's forward + backward (attention_torch.py, key train).
 * Checked against the float64 references before it is timed.
 */
import { chunkBackwardMmaUnsupported, hsaChunkAttentionBackwardRef, hsaChunkAttentionDq, hsaRetrievalBackwardRef, hsaRetrievalRef } from '@hsa/kernels';
import {
  ag,
  backward,
  cast,
  fill,
  hsaChunkAttention,
  hsaChunkAttentionBackward,
  hsaRetrieval,
  hsaRetrievalBackward,
  invertSelection,
  keep,
  Parameter,
  record,
  Tensor,
  type WebGpuBackend,
} from '@hsa/tensor';
import { D, DR, f64, HK, HQ, K, RET, S } from './attention-shapes.js';
import { fillRandom, lcg, relDiff, timeGpu } from './common.js';
import { randomTensor } from './fill.js';

/** A training step's leaves: q, qr per token segment, the landmarks, the chunk memory K and V. */
interface TrainIo {
  seg: number;
  qs: Parameter[];
  qrs: Parameter[];
  lmk: Parameter;
  k: Parameter;
  v: Parameter;
}

function trainInputs(be: WebGpuBackend, T: number, seg: number): TrainIo {
  const C = T / S;
  const segs = Array.from({ length: T / seg }, (_, i) => i);
  return {
    seg,
    qs: segs.map((i) => new Parameter(`q${i}`, randomTensor(be, [seg, HQ, D], 43 + 10 * i, 'f32', 2))),
    qrs: segs.map((i) => new Parameter(`qr${i}`, randomTensor(be, [seg, HK, DR], 41 + 10 * i, 'f32', 4))),
    lmk: new Parameter('lmk', randomTensor(be, [C, HK, DR], 42)),
    // a trained memory is one tensor (ag.hsaChunkAttention takes no parts): 128 MiB each at 128K
    k: new Parameter('K', randomTensor(be, [C * S, HK, D], 44)),
    v: new Parameter('V', randomTensor(be, [C * S, HK, D], 45)),
  };
}

const trainParams = (io: TrainIo) => [...io.qs, ...io.qrs, io.lmk, io.k, io.v];

/**
 * A scalar whose backward sends dout[i] into outs[i] (the gradient of Σ_i Σ outs[i] ⊙ dout[i]), seeded
 * as PyTorch's out.backward(g) seeds g: neither side times the product or its sum.
 */
function seedLoss(outs: Tensor[], dout: Tensor[]): Tensor {
  const saved = dout.map(keep);
  return record({ op: 'seedLoss', inputs: outs, output: fill(outs[0].backend, [1], 0), saved, backward: () => saved.map(keep) });
}

/**
 * Forward + backward of retrieval + chunk attention over all tokens, a segment at a time (q [seg, 32,
 * 128] f32 within one binding); the gradients land in the Parameters. `idx` keeps the chosen chunks.
 */
function trainStep(io: TrainIo, dout: Tensor[], idx?: Tensor[]): void {
  const outs = io.qs.map((q, i) => {
    const r = ag.hsaRetrieval(io.qrs[i].value, io.lmk.value, { ...RET, posOffset: i * io.seg });
    const out = ag.hsaChunkAttention(q.value, io.k.value, io.v.value, r.idx, r.w, { chunkSize: S });
    if (idx) idx.push(r.idx);
    else r.idx.dispose();
    for (const t of [r.w, r.sel]) t.dispose();
    return out;
  });
  const loss = seedLoss(outs, dout);
  backward(loss);
  for (const t of [loss, ...outs]) t.dispose();
}

/** Row t of a tensor split into segments of `seg` rows, as float64. */
async function segRow(be: WebGpuBackend, parts: Tensor[], seg: number, t: number): Promise<Float64Array> {
  const part = parts[Math.floor(t / seg)];
  const len = part.size / part.shape[0];
  const buf = await be.read(part.storage, (t % seg) * len * 4, len * 4);
  return Float64Array.from(part.dtype === 'i32' ? new Int32Array(buf) : new Float32Array(buf));
}

/** Tensors read back one after another into one float64 array. */
async function cat(ts: Tensor[]): Promise<Float64Array> {
  const out = new Float64Array(ts.reduce((s, t) => s + t.size, 0));
  let o = 0;
  for (const t of ts) {
    out.set(await t.data(), o);
    o += t.size;
  }
  return out;
}

/**
 * One step against the float64 references. The upstream gradient is nonzero on a few rows only, so
 * the references run on those rows alone (a row's dq, dw and dqr depend on its own row; K, V and the
 * landmarks sum over the rows) while the GPU runs all T tokens: dK, dV, dlmk and dqr are compared in
 * full (zero where no checked row reaches), dq on the rows. Per gradient: max |got − want| over
 * 1e-4 · max |want| (f32 kernels against float64; ≤ 1 passes), 5e-3 · max |want| where the chunk
 * attention runs on matrix units (f16 operands).
 */
async function checkTrain(be: WebGpuBackend, io: TrainIo, T: number): Promise<Record<string, number>> {
  const { seg } = io;
  const [C, k] = [T / S, Math.min(T / S, K)];
  // rows without a visible chunk (t < S), first of a chunk, segment ends and starts, the last
  const rows = [...new Set([0, S, S + 1, 2 * S - 1, 200, seg - 1, seg, seg + S, T / 2 + 7, T - S - 1, T - 1])].filter((t) => t < T).sort((a, b) => a - b);
  // the upstream gradient: zeros on the device, hash values written into the checked rows
  const dout = io.qs.map(() => fill(be, [seg, HQ, D], 0));
  for (const t of rows) be.write(dout[Math.floor(t / seg)].storage, fillRandom(new Float32Array(HQ * D), 1000 + t), (t % seg) * HQ * D * 4);
  const idxs: Tensor[] = [];
  trainStep(io, dout, idxs);
  const m = rows.length;
  const [q, dy, idx, w] = [new Float64Array(m * HQ * D), new Float64Array(m * HQ * D), new Int32Array(m * HK * k), new Float64Array(m * HK * k)];
  const [lmk, mk, mv] = await Promise.all([io.lmk.value, io.k.value, io.v.value].map(f64));
  const P = { chunks: C, s: S, hr: HK, hk: HK, dr: DR, topk: K, mode: 'softmax' as const };
  const qrs = io.qrs.map((p) => p.value);
  for (const [j, t] of rows.entries()) {
    const [a, b] = [j * HK * k, (j + 1) * HK * k];
    hsaRetrievalRef([await segRow(be, qrs, seg, t), lmk, idx.subarray(a, b), w.subarray(a, b)], { ...P, t: 1, posOffset: t });
    const got = await segRow(be, idxs, seg, t);
    if (got.some((x, i) => x !== idx[a + i])) throw new Error(`train ${T}: retrieval idx mismatch at token ${t}: ${idx.subarray(a, b)} vs ${got}`);
    q.set(await segRow(be, io.qs.map((p) => p.value), seg, t), j * HQ * D);
    dy.set(await segRow(be, dout, seg, t), j * HQ * D);
  }
  const [dq, dK, dV, dw] = [new Float64Array(q.length), new Float64Array(mk.length), new Float64Array(mk.length), new Float64Array(w.length)];
  hsaChunkAttentionBackwardRef([q, mk, mv, idx, w, dy, dq, dK, dV, dw], { t: m, hq: HQ, hk: HK, d: D, s: S, chunks: C, k });
  const [dqr, dlmk, dl] = [new Float64Array(T * HK * DR), new Float64Array(lmk.length), new Float64Array(lmk.length)];
  for (const [j, t] of rows.entries()) {
    const qr = await segRow(be, qrs, seg, t);
    hsaRetrievalBackwardRef([qr, lmk, dw.subarray(j * HK * k, (j + 1) * HK * k), dqr.subarray(t * HK * DR, (t + 1) * HK * DR), dl], { ...P, t: 1, posOffset: t });
    for (let i = 0; i < dl.length; i++) dlmk[i] += dl[i];
  }
  const gotDq = new Float64Array(q.length);
  for (const [j, t] of rows.entries()) gotDq.set(await segRow(be, io.qs.map((p) => p.grad!), seg, t), j * HQ * D);
  // f32 kernels: 1e-4; on matrix units (q, dout, K, V and the score gradients rounded to f16): 5e-3
  const tol = chunkBackwardMmaUnsupported(be.caps, D, S, HQ / HK, K) === null ? 5e-3 : 1e-4;
  const err = (got: Float64Array, want: Float64Array) => relDiff(got, want) / tol;
  const res = {
    q: err(gotDq, dq),
    qr: err(await cat(io.qrs.map((p) => p.grad!)), dqr),
    lmk: err(await f64(io.lmk.grad!), dlmk),
    K: err(await f64(io.k.grad!), dK),
    V: err(await f64(io.v.grad!), dV),
  };
  for (const p of trainParams(io)) p.zeroGrad();
  for (const t of [...dout, ...idxs]) t.dispose();
  return res;
}

/**
 * Checks (when `check`), then times the step at T tokens in segments of `seg` (default ≤ 32K: q [seg,
 * 32, 128] f32 is 512 MiB, a binding holds 2 GiB − 4), median of `reps` steps.
 */
export async function trainCase(be: WebGpuBackend, T: number, check: boolean, o: { seg?: number; reps?: number } = {}) {
  const seg = o.seg ?? Math.min(T, 1 << 15);
  const io = trainInputs(be, T, seg);
  const errs = check ? await checkTrain(be, io, T) : null;
  const err = errs ? Math.max(...Object.values(errs)) : Number.NaN;
  if (check && !(err <= 1)) throw new Error(`train ${T}: check failed (${JSON.stringify(errs)})`);
  // one upstream gradient for every segment (the timing does not depend on its values)
  const dout = randomTensor(be, [seg, HQ, D], 49);
  const ps = trainParams(io);
  const t = await timeGpu(be, () => {
    trainStep(io, io.qs.map(() => dout));
    for (const p of ps) p.zeroGrad();
  }, 1, o.reps ?? 5);
  console.error(`train ${T}: ${t.medianMs.toFixed(2)} ms forward + backward, check ${err.toFixed(4)} ${JSON.stringify(errs)}`);
  for (const x of [dout, ...ps.map((p) => p.value)]) x.dispose();
  return { tokens: T, segment: seg, timing: t, checkErrorOverTol: err, checkPerGradient: errs };
}

/**
 * Where a training step's time goes (`--train-profile`): each piece alone over all segments, GPU
 * time a step: the forward (retrieval, chunk attention), the chunk attention's backward (whole, its
 * dq kernel, the selection's inversion) and the retrieval's backward.
 */
export async function trainProfile(be: WebGpuBackend, T: number, o: { seg?: number; reps?: number } = {}) {
  const seg = o.seg ?? Math.min(T, 1 << 15);
  const io = trainInputs(be, T, seg);
  const dout = randomTensor(be, [seg, HQ, D], 49);
  const [K_, V_] = [io.k.value, io.v.value];
  const rs = io.qrs.map((qr, i) => hsaRetrieval(qr.value, io.lmk.value, { ...RET, posOffset: i * seg }));
  const dws = rs.map((r) => randomTensor(be, [...r.w.shape], 50));
  const reps = o.reps ?? 5;
  const time = async (name: string, step: (i: number) => Tensor[]) => {
    const t = await timeGpu(be, () => {
      for (let i = 0; i < rs.length; i++) for (const x of step(i)) x.dispose();
    }, 1, reps);
    console.error(`train ${T} profile ${name}: ${t.medianMs.toFixed(2)} ms`);
    return [name, t] as const;
  };
  // the backward's default variant (mma reads f16 memory)
  const mma = chunkBackwardMmaUnsupported(be.caps, D, S, HQ / HK, K) === null;
  const [K16, V16] = mma ? [cast(K_, 'f16'), cast(V_, 'f16')] : [K_, V_];
  const P = (i: number) => ({ t: seg, hq: HQ, hk: HK, d: D, s: S, chunks: T / S, k: rs[i].idx.shape[2], variant: mma ? ('mma' as const) : ('f32' as const) });
  const entries = [
    await time('retrieval', (i) => Object.values(hsaRetrieval(io.qrs[i].value, io.lmk.value, { ...RET, posOffset: i * seg }))),
    await time('chunkAttention', (i) => [hsaChunkAttention(io.qs[i].value, K_, V_, rs[i].idx, rs[i].w, { chunkSize: S })]),
    await time('chunkBackward', (i) => Object.values(hsaChunkAttentionBackward(io.qs[i].value, K_, V_, rs[i].idx, rs[i].w, dout, { chunkSize: S }))),
    await time('chunkDq', (i) => {
      const p = P(i);
      const outs = [Tensor.empty(be, [seg, HQ, D], 'f32'), Tensor.empty(be, rs[i].w.shape, 'f32'), Tensor.empty(be, [seg, HQ, p.k], 'f32'), Tensor.empty(be, [seg, HQ, p.k], 'f32')];
      be.run(hsaChunkAttentionDq, p, [io.qs[i].value, K16, V16, rs[i].idx, rs[i].w, dout, ...outs].map((x) => x.arg()));
      return outs;
    }),
    await time('invertSelection', (i) => Object.values(invertSelection(rs[i].idx, rs[i].w, P(i)))),
    ...(mma ? [await time('chunkBackwardSumsInWorkgroup', (i) => Object.values(hsaChunkAttentionBackward(io.qs[i].value, K_, V_, rs[i].idx, rs[i].w, dout, { chunkSize: S, mmaAcc: 'workgroup' })))] : []),
    await time('retrievalBackward', (i) => Object.values(hsaRetrievalBackward(io.qrs[i].value, io.lmk.value, rs[i], dws[i], RET))),
  ];
  for (const x of new Set([K16, V16, dout, ...dws, ...rs.flatMap((r) => Object.values(r)), ...trainParams(io).map((p) => p.value)])) x.dispose();
  return { tokens: T, segment: seg, profile: Object.fromEntries(entries) };
}

/**
 * The chunk attention's backward on matrix units (v2, `mma`) against v1 (f32) on awkward shapes:
 * one token, lengths that are no multiple of anything, 1 and 2 KV heads, 16 and 32 query heads a KV
 * head (one and two row tiles a slot), S 64 and 128, D 64 and 128, k 5 / 7 / 16, invalid slots
 * (index −1 or past the memory), zero weights, chunks nobody chose, f16 memory given directly. Per
 * gradient: max |v2 − v1| over 5e-3 · max |v1| (f16 rounding of Q, dout, K, V and the score
 * gradients; ≤ 1 passes).
 */
export async function mmaBackwardCheck(be: WebGpuBackend): Promise<{ cases: number; worst: number }> {
  const cases = [
    { t: 1, hq: 16, hk: 1, d: 64, s: 64, chunks: 3, k: 5, kv: 'f32' },
    { t: 77, hq: 32, hk: 2, d: 128, s: 64, chunks: 9, k: 16, kv: 'f32' },
    { t: 130, hq: 32, hk: 1, d: 64, s: 128, chunks: 5, k: 16, kv: 'f32' },
    { t: 45, hq: 32, hk: 2, d: 128, s: 64, chunks: 11, k: 16, kv: 'f16' },
    { t: 33, hq: 64, hk: 2, d: 128, s: 64, chunks: 40, k: 7, kv: 'f32' },
  ] as const;
  let worst = 0;
  for (const [n, c] of cases.entries()) {
    const q = randomTensor(be, [c.t, c.hq, c.d], 600 + n, 'f32', 2);
    const dout = randomTensor(be, [c.t, c.hq, c.d], 650 + n, 'f32', 1);
    const [mk, mv] = [randomTensor(be, [c.chunks * c.s, c.hk, c.d], 700 + n, c.kv), randomTensor(be, [c.chunks * c.s, c.hk, c.d], 750 + n, c.kv)];
    const idxH = new Int32Array(c.t * c.hk * c.k);
    const wH = new Float32Array(c.t * c.hk * c.k);
    const rnd = lcg(91 + n);
    for (let i = 0; i < idxH.length; i++) {
      const r = rnd();
      idxH[i] = r < 0.05 ? -1 : r < 0.1 ? c.chunks + 2 : Math.floor(rnd() * c.chunks);
      wH[i] = r < 0.1 || r > 0.9 ? 0 : rnd();
    }
    const idx = Tensor.from(be, idxH, [c.t, c.hk, c.k], 'i32');
    const w = Tensor.from(be, wH, [c.t, c.hk, c.k]);
    const run = (v: 'mma' | 'f32', mmaAcc?: 'workgroup') => hsaChunkAttentionBackward(q, mk, mv, idx, w, dout, { chunkSize: c.s, backwardVariant: v, mmaAcc });
    // v2 with its sums in subgroup matrices (the default) and in workgroup memory, against v1
    const [a, r, b] = [run('mma'), run('mma', 'workgroup'), run('f32')];
    const errs: Record<string, number> = {};
    for (const [name, x0] of [['', a], ['workgroup ', r]] as const) {
      for (const key of ['dq', 'dK', 'dV', 'dw'] as const) {
        const [x, y] = await Promise.all([x0[key], b[key]].map(f64));
        const scale = 5e-3 * y.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
        let e = 0;
        for (let i = 0; i < x.length; i++) e = Math.max(e, Number.isFinite(x[i]) ? Math.abs(x[i] - y[i]) / scale : Number.POSITIVE_INFINITY);
        errs[name + key] = e;
        worst = Math.max(worst, e);
      }
    }
    console.error(`mma backward check ${JSON.stringify(c)}: ${JSON.stringify(errs)} of tolerance`);
    for (const t of [q, dout, mk, mv, idx, w, ...Object.values(a), ...Object.values(r), ...Object.values(b)]) t.dispose();
  }
  if (!(worst <= 1)) throw new Error(`mma backward check failed (${worst})`);
  return { cases: cases.length, worst };
}
