/**
 * The decode retrieval's subgroup top-k (v5, hsaSelectSubgroup.wgsl.ts) against v4 (`bound`, the
 * top-k CI checks against float64 without subgroups of this size) on this device, before anything
 * is timed: lists of 2 … 32 (k 1 … 32: 1 to 16 lists a subgroup of 32), one-tile scans with the v5
 * merge over 3 … 128 lists, many equal scores, few visible chunks, a mask window, stick-breaking with
 * a position decay, two tokens and one retrieval head. Both read the same scores, so the chunks must
 * be equal and the weights equal to f32 rounding. Throws on a mismatch.
 */
import { sgListLength, sgTopkUnsupported } from '@hsa/kernels';
import { cast, hsaRetrieval, Tensor, type WebGpuBackend } from '@hsa/tensor';
import { f64 } from './attention-shapes.js';
import { randomTensor } from './fill.js';

interface Shape {
  t: number;
  hr: number;
  k: number;
  chunks: number;
  blockLen: number;
  pos: number;
  dr: number;
  ties?: boolean;
  maskWindow?: number;
  stick?: boolean;
  posDecay?: number;
}

const SHAPES: Shape[] = [
  { t: 1, hr: 2, k: 16, chunks: 16384, blockLen: 256, pos: 16384 * 64, dr: 64 },
  { t: 1, hr: 2, k: 8, chunks: 5000, blockLen: 256, pos: 5000 * 64 + 9, dr: 64 },
  { t: 1, hr: 2, k: 32, chunks: 9000, blockLen: 256, pos: 9000 * 64, dr: 64 },
  { t: 2, hr: 2, k: 5, chunks: 3000, blockLen: 200, pos: 3000 * 64, dr: 32 },
  { t: 1, hr: 1, k: 1, chunks: 2000, blockLen: 256, pos: 2000 * 64, dr: 64 },
  { t: 1, hr: 2, k: 3, chunks: 777, blockLen: 256, pos: 777 * 64, dr: 64 },
  { t: 1, hr: 2, k: 16, chunks: 32768, blockLen: 256, pos: 32768 * 64, dr: 64, ties: true },
  { t: 1, hr: 2, k: 16, chunks: 6000, blockLen: 256, pos: 300, dr: 64 },
  { t: 1, hr: 2, k: 12, chunks: 6000, blockLen: 256, pos: 6000 * 64, dr: 64, maskWindow: 5000, stick: true, posDecay: 0.05 },
  { t: 1, hr: 2, k: 16, chunks: 262144, blockLen: 2048, pos: 262144 * 64, dr: 64 },
];

export async function retrievalCheck(be: WebGpuBackend): Promise<{ cases: number; worstWeightDiff: number }> {
  let worst = 0;
  // the shapes whose lists fit this device's subgroups
  const shapes = SHAPES.filter((c) => sgTopkUnsupported(be.caps, sgListLength(c.k)) === null);
  for (const [n, c] of shapes.entries()) {
    const qr = randomTensor(be, [c.t, c.hr, c.dr], 100 + n, 'f32', 4);
    const l32 = randomTensor(be, [c.chunks, c.hr, c.dr], 200 + n);
    // ties: landmarks rounded to {−1, 0, 1} (many equal scores: the chunk order decides)
    const lmk = c.ties ? Tensor.from(be, Float32Array.from(await l32.data(), (x) => Math.round(x)), [c.chunks, c.hr, c.dr]) : cast(l32, 'bf16');
    const opts = {
      chunkSize: 64,
      topk: c.k,
      mode: c.stick ? ('stickBreaking' as const) : ('softmax' as const),
      hk: 2,
      posOffset: c.pos - c.t + 1,
      blockLen: c.blockLen,
      maskWindow: c.maskWindow,
      posDecay: c.posDecay,
    };
    const a = hsaRetrieval(qr, lmk, { ...opts, topkMode: 'subgroup' });
    const b = hsaRetrieval(qr, lmk, { ...opts, topkMode: 'bound' });
    const [ia, ib, wa, wb, sa, sb] = await Promise.all([a.idx, b.idx, a.w, b.w, a.sel, b.sel].map(f64));
    const dw = wa.reduce((m, x, i) => Math.max(m, Math.abs(x - wb[i])), 0);
    if (ia.some((x, i) => x !== ib[i]) || sa.some((x, i) => x !== sb[i]) || !(dw <= 1e-6)) {
      throw new Error(`retrieval check ${JSON.stringify(c)}: the subgroup top-k differs from v4 (weights by ${dw})`);
    }
    worst = Math.max(worst, dw);
    for (const x of [qr, l32, lmk, a.idx, a.w, a.sel, b.idx, b.w, b.sel]) x.dispose();
  }
  console.error(`retrieval check: v5 = v4 on ${shapes.length} shapes (weights within ${worst})`);
  return { cases: shapes.length, worstWeightDiff: worst };
}
