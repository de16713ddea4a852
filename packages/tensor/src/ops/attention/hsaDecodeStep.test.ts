/**
 * hsaDecodeStep on every backend: the retrieval's merge inside the chunk attention (v6, the default
 * where it runs: SwiftShader's subgroups of 4 hold lists of k ≤ 4) against the separate ops on the
 * same backend (idx, w, sel exactly: the same merge code) and against float64 references (out).
 */
import { ArgumentError, CHUNK_FIXED_BUFFERS_MERGE, ShapeError, bf16ToF32, f32ToBf16, hsaChunkAttentionForwardRef, hsaRetrievalRef, retrievalForwardRef } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { WebGpuBackend } from '../../webgpu/webgpu-backend.js';
import { expectClose, freshSeed, randF32, testBackends, toF64 } from '../../test-utils/index.js';
import { hsaDecodeStep } from './hsaDecodeStep.js';

interface Case {
  t: number;
  hq: number;
  hk: number;
  hr: number;
  d: number;
  dr: number;
  s: number;
  chunks: number;
  k: number;
  pos: number;
  blockLen: number;
  mode?: 'softmax' | 'stickBreaking';
  posDecay?: number;
  maskWindow?: number;
  segment?: number;
  smN?: 0 | 1;
  bf16?: boolean;
  parts?: number;
  slotSplit?: number;
}

const base = { t: 1, hq: 8, hk: 2, hr: 2, d: 16, dr: 8, s: 8 };
// awkward shapes: lists not filling the staged tree (nb 8, 3, 37, 1), k 1 … 4 (lists of 2 and 4),
// fewer visible chunks than k, one retrieval head for two KV heads, two tokens (two rows a head),
// stick-breaking with a position decay, a mask window, packed sequences, off-by-one softmax, bf16
// landmarks and memory, memory parts, slot groups over 1 / 3 / 4 workgroups, the benchmark's D 128 and
// S 64; rows of 1, 2 and 4 words summed by shuffles (SwiftShader's subgroups of 4), of 3 and 16 not
const CASES: Case[] = [
  { ...base, chunks: 37, k: 3, pos: 37 * 8 + 3, blockLen: 5 },
  { ...base, chunks: 37, k: 4, pos: 37 * 8, blockLen: 13, hr: 1, mode: 'stickBreaking', posDecay: 0.2 },
  { ...base, chunks: 37, k: 4, pos: 2 * 8 + 5, blockLen: 1 },
  { ...base, t: 2, chunks: 30, k: 2, pos: 200, blockLen: 4, maskWindow: 20, smN: 1 },
  { ...base, t: 3, chunks: 40, k: 3, pos: 150, blockLen: 6, segment: 96, slotSplit: 1 },
  { ...base, chunks: 21, k: 1, pos: 21 * 8, blockLen: 21, bf16: true, dr: 16 },
  { ...base, chunks: 29, k: 4, pos: 29 * 8 + 1, blockLen: 3, parts: 3, bf16: true, dr: 16, slotSplit: 3 },
  { ...base, hq: 32, d: 128, s: 64, dr: 64, chunks: 40, k: 4, pos: 40 * 64 + 10, blockLen: 7, bf16: true },
  { ...base, hq: 32, d: 128, s: 64, dr: 64, chunks: 40, k: 4, pos: 40 * 64 + 10, blockLen: 7, slotSplit: 4 },
  { ...base, hq: 2, hk: 1, hr: 1, d: 4, dr: 4, s: 3, chunks: 9, k: 2, pos: 9 * 3, blockLen: 2 },
  // rows of 3 words (D 12 f32, D 24 bf16): not a power of two, so the row sums stay in workgroup memory
  { ...base, hq: 4, d: 12, chunks: 11, k: 3, pos: 11 * 8, blockLen: 4 },
  { ...base, hq: 4, d: 24, chunks: 11, k: 4, pos: 11 * 8, blockLen: 3, bf16: true, dr: 16 },
];

/** The float64 step: the retrieval reference, then the chunk attention reference with its choice. */
function reference(c: Case, q: Float32Array, qr: Float32Array, lmk: Float32Array, mk: Float32Array, mv: Float32Array) {
  const p = { t: c.t, chunks: c.chunks, s: c.s, hr: c.hr, hk: c.hk, dr: c.dr, topk: c.k, mode: c.mode ?? 'softmax', posOffset: c.pos, posDecay: c.posDecay, maskWindow: c.maskWindow, segLen: c.segment };
  const f = retrievalForwardRef(toF64(qr), toF64(lmk), p);
  const k = f.k;
  const r = { idx: new Int32Array(c.t * c.hk * k), w: new Float64Array(c.t * c.hk * k), sel: f.sel };
  hsaRetrievalRef([toF64(qr), toF64(lmk), r.idx, r.w], p);
  const out = new Float64Array(c.t * c.hq * c.d);
  hsaChunkAttentionForwardRef([toF64(q), toF64(mk), toF64(mv), r.idx, r.w, out], { t: c.t, hq: c.hq, hk: c.hk, d: c.d, s: c.s, chunks: c.chunks, k, smN: c.smN });
  return { ...r, out, k };
}

describe.each(testBackends())('hsaDecodeStep on %s', (name, makeBackend) => {
  it.each(CASES)('%j', async (c) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const round = (a: Float32Array) => (c.bf16 ? a.map((x) => bf16ToF32(f32ToBf16(x))) : a);
    const q = randF32(c.t * c.hq * c.d, seed, -2, 2);
    const qr = randF32(c.t * c.hr * c.dr, seed + 1, -2, 2);
    const lmk = round(randF32(c.chunks * c.hr * c.dr, seed + 2));
    const rows = c.chunks * c.s;
    const mk = round(randF32(rows * c.hk * c.d, seed + 3, -2, 2));
    const mv = round(randF32(rows * c.hk * c.d, seed + 4));
    const dtype = c.bf16 ? 'bf16' : 'f32';
    const per = Math.ceil(c.chunks / (c.parts ?? 1));
    const mem = (a: Float32Array) =>
      Array.from({ length: Math.ceil(c.chunks / per) }, (_, i) => {
        const [c0, c1] = [i * per, Math.min(c.chunks, (i + 1) * per)];
        return Tensor.from(be, a.subarray(c0 * c.s * c.hk * c.d, c1 * c.s * c.hk * c.d), [(c1 - c0) * c.s, c.hk, c.d], dtype);
      });
    const args = [Tensor.from(be, q, [c.t, c.hq, c.d]), Tensor.from(be, qr, [c.t, c.hr, c.dr]), Tensor.from(be, lmk, [c.chunks, c.hr, c.dr], dtype), mem(mk), mem(mv)] as const;
    const opts = { chunkSize: c.s, topk: c.k, mode: c.mode ?? ('softmax' as const), pos: c.pos, posDecay: c.posDecay, maskWindow: c.maskWindow, segment: c.segment, smN: c.smN, blockLen: c.blockLen, slotSplit: c.slotSplit };
    // the fused step where it runs (on the CPU: its reference), and the separate ops
    const count = () => (be instanceof WebGpuBackend ? be.dispatches : 0);
    const d0 = count();
    const fused = hsaDecodeStep(...args, { ...opts, fuseMerge: name === 'cpu' ? true : undefined });
    const d1 = count();
    const apart = hsaDecodeStep(...args, { ...opts, fuseMerge: false });
    // on WebGPU the default is the fused merge here (one dispatch fewer) where the parts bind at once
    const oneDispatch = 2 * (c.parts ?? 1) + CHUNK_FIXED_BUFFERS_MERGE <= (be.caps.maxStorageBuffers ?? 8);
    // (scan, attention, and the plane sum where a head's slots span several workgroups)
    const jsplit = c.k > 1 ? Math.min(c.k, c.slotSplit ?? Math.ceil(c.k / Math.floor(256 / c.s))) : 1;
    if (be instanceof WebGpuBackend && oneDispatch) expect(d1 - d0).toBe(jsplit > 1 ? 3 : 2);
    if (be instanceof WebGpuBackend && !oneDispatch) expect(d1 - d0).toBe(count() - d1);
    const want = reference(c, q, qr, lmk, mk, mv);
    const label = `seed=${seed}`;
    expect(fused.idx.shape).toEqual([c.t, c.hk, want.k]);
    for (const [i, r] of [fused, apart].entries()) {
      expect(Array.from(await r.idx.data()), `${label} ${['fused', 'apart'][i]}`).toEqual(Array.from(want.idx));
      expectClose(await r.w.data(), want.w, 1e-5, label);
      // sel: −∞ exactly where the reference's is, the rest close
      const sel = await r.sel.data();
      expect(Array.from(sel, (x) => x === Number.NEGATIVE_INFINITY), label).toEqual(Array.from(want.sel, (x) => x === Number.NEGATIVE_INFINITY));
      expectClose(sel.map((x) => (Number.isFinite(x) ? x : 0)), want.sel.map((x) => (Number.isFinite(x) ? x : 0)), (i) => 1e-5 * (1 + Math.abs(want.sel[i])), label);
    }
    // the merge code is the same: exactly equal weights and scores; the outputs to f32 rounding
    expect(Array.from(await fused.w.data()), label).toEqual(Array.from(await apart.w.data()));
    expect(Array.from(await fused.sel.data()), label).toEqual(Array.from(await apart.sel.data()));
    const tol = 2e-5 * (c.s + c.k + c.d);
    expectClose(await fused.out.data(), want.out, tol, label);
    expectClose(await apart.out.data(), want.out, tol, label);
  });
});

describe('hsaDecodeStep on webgpu: the fused merge where it cannot run', () => {
  it.each(testBackends().filter(([n]) => n === 'webgpu'))('%s: k over the subgroup lists, or no block scan, asked for: a typed error', async (_n, makeBackend) => {
    const be = await makeBackend();
    const c = { ...base, chunks: 40, k: 3, pos: 40 * 8 };
    const args = [Tensor.from(be, randF32(c.hq * c.d, 1), [1, c.hq, c.d]), Tensor.from(be, randF32(c.hr * c.dr, 2), [1, c.hr, c.dr]), Tensor.from(be, randF32(c.chunks * c.hr * c.dr, 3), [c.chunks, c.hr, c.dr]), Tensor.from(be, randF32(c.chunks * c.s * c.hk * c.d, 4), [c.chunks * c.s, c.hk, c.d]), Tensor.from(be, randF32(c.chunks * c.s * c.hk * c.d, 5), [c.chunks * c.s, c.hk, c.d])] as const;
    const opts = { chunkSize: c.s, topk: c.k, mode: 'softmax' as const, pos: c.pos, fuseMerge: true };
    // 40 chunks, one row: the fused retrieval pass, no block scan to merge
    expect(() => hsaDecodeStep(...args, opts)).toThrow(ArgumentError);
    // lists of 32 do not fit SwiftShader's subgroups of 4 (on a device with subgroups of 32: lists of 64)
    expect(() => hsaDecodeStep(...args, { ...opts, blockLen: 8, topk: (be.caps.subgroupMinSize ?? 4) + 1 })).toThrow(ArgumentError);
    // a landmark count that is not the memory's
    expect(() => hsaDecodeStep(...args, { ...opts, chunkSize: 16, fuseMerge: undefined })).toThrow(ShapeError);
  });
});
