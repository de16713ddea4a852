/**
 * bench/attention's SWA case (swaCase: the forward at one length and window, checked against float64
 * on three rows, then timed) and the check of its matrix-unit variant (swaMmaCheck).
 *
 * swaMmaCheck: the SWA forward on matrix units (swaAttention `mma`) against the f32 tiles (`tiles`) on awkward
 * shapes: one token, lengths that are no multiple of the 4-token blocks or the 64-key tiles, windows
 * 0, 3, 64, 200 and over the length, packed segments, 1 and 2 KV heads, 16 and 32 query heads a KV
 * head, D 48, 64, 128. Per case: max |mma − tiles| of the outputs over 5e-3 (values are averages of
 * values in [-1, 1]) and of the log-sum-exps over 5e-3 · max |lse| (≤ 1 passes).
 */
import { type SwaMmaTile, swaAttentionForwardRef, swaMmaUnsupported } from '@hsa/kernels';
import { swaAttention, swaAttentionWithLse, type Tensor, type WebGpuBackend } from '@hsa/tensor';
import { D, f64, HK, HQ } from './attention-shapes.js';
import { timeGpu } from './common.js';
import { randomTensor } from './fill.js';

export async function swaMmaCheck(be: WebGpuBackend, mmaTile?: SwaMmaTile): Promise<{ cases: number; worst: number }> {
  const cases = [
    { t: 1, hq: 16, hk: 1, d: 64, window: 4 },
    { t: 5, hq: 16, hk: 1, d: 48, window: 0 },
    { t: 70, hq: 32, hk: 2, d: 128, window: 3 },
    { t: 131, hq: 32, hk: 1, d: 64, window: 64 },
    { t: 200, hq: 16, hk: 1, d: 128, window: 500 },
    { t: 130, hq: 32, hk: 2, d: 128, window: 200, segment: 65 },
    { t: 389, hq: 16, hk: 1, d: 64, window: 200 },
  ];
  let worst = 0;
  for (const [n, c] of cases.entries()) {
    const q = randomTensor(be, [c.t, c.hq, c.d], 900 + n, 'f32', 2);
    const k = randomTensor(be, [c.t, c.hk, c.d], 950 + n, 'f32', 2);
    const v = randomTensor(be, [c.t, c.hk, c.d], 990 + n);
    const o = { window: c.window, segment: c.segment };
    const a = swaAttentionWithLse(q, k, v, { ...o, variant: 'mma', mmaTile });
    const b = swaAttentionWithLse(q, k, v, { ...o, variant: 'tiles' });
    const [ao, bo, al, bl] = await Promise.all([a.out, b.out, a.lse!, b.lse!].map(f64));
    let eo = 0;
    for (let i = 0; i < ao.length; i++) eo = Math.max(eo, Number.isFinite(ao[i]) ? Math.abs(ao[i] - bo[i]) / 5e-3 : Number.POSITIVE_INFINITY);
    const lmax = bl.reduce((m, x) => Math.max(m, Math.abs(x)), 1e-30);
    let el = 0;
    for (let i = 0; i < al.length; i++) el = Math.max(el, Number.isFinite(al[i]) ? Math.abs(al[i] - bl[i]) / (5e-3 * lmax) : Number.POSITIVE_INFINITY);
    console.error(`swa mma check ${JSON.stringify({ ...c, ...mmaTile })}: out ${eo.toFixed(3)}, lse ${el.toFixed(3)} of tolerance`);
    worst = Math.max(worst, eo, el);
    for (const x of [q, k, v, a.out, a.lse!, b.out, b.lse!]) x.dispose();
  }
  if (!(worst <= 1)) throw new Error(`swa mma check failed (${worst})`);
  return { cases: cases.length, worst };
}

/** The SWA forward of T tokens with window W (`variant`, or the op's default), checked on rows 0, 1000, T − 1, then timed. */
export async function swaCase(be: WebGpuBackend, T: number, window: number, variant?: 'mma' | 'tiles', mmaTile?: SwaMmaTile) {
  const q = randomTensor(be, [T, HQ, D], 31);
  const k = randomTensor(be, [T, HK, D], 32);
  const v = randomTensor(be, [T, HK, D], 33);
  const out = swaAttention(q, k, v, { window, variant, mmaTile });
  // rows lo … hi − 1 of a [T, H, D] tensor as float64 (reading back only what a checked row needs)
  const rows = async (x: Tensor, lo: number, hi: number) => {
    const per = x.size / T;
    return Float64Array.from(new Float32Array(await be.read(x.storage, lo * per * 4, (hi - lo) * per * 4)));
  };
  // f32 tiles against float64: 1e-4; on matrix units (q, k, v and the probabilities in f16): 5e-3
  const tol = (variant ?? (swaMmaUnsupported(be.caps, D, HQ / HK) === null ? 'mma' : 'tiles')) === 'mma' ? 5e-3 : 1e-4;
  let worst = 0;
  for (const t of [0, 1000, T - 1]) {
    const lo = Math.max(0, t - window);
    const n = t - lo + 1;
    // the reference computes the last row only (qStart), against its n keys
    const want = new Float64Array(HQ * D);
    const [qh, kh, vh, oh] = await Promise.all([rows(q, t, t + 1), rows(k, lo, t + 1), rows(v, lo, t + 1), rows(out, t, t + 1)]);
    swaAttentionForwardRef([qh, kh, vh, want], { t: n, hq: HQ, hk: HK, d: D, window, qStart: n - 1 });
    for (let i = 0; i < HQ * D; i++) worst = Math.max(worst, Math.abs(want[i] - oh[i]) / tol);
  }
  if (!(worst <= 1)) throw new Error(`swa ${T}: check failed (${worst})`);
  out.dispose();
  const t = await timeGpu(be, () => swaAttention(q, k, v, { window, variant, mmaTile }).dispose(), 1, 5);
  const tflops = (4 * T * HQ * D * Math.min(window + 1, T)) / (t.medianMs * 1e-3) / 1e12;
  console.error(`swa ${T} W=${window} ${variant ?? 'default'} ${mmaTile ? JSON.stringify(mmaTile) : ''}: ${t.medianMs.toFixed(2)} ms (${tflops.toFixed(1)} TFLOP/s), check ${worst.toFixed(3)}`);
  for (const x of [q, k, v]) x.dispose();
  const name = (variant ?? 'default') + (mmaTile ? `-${mmaTile.tokens}x${mmaTile.kt}${mmaTile.qRegs ? 'q' : ''}` : '');
  return { tokens: T, window, variant: name, timing: t, tflops, checkErrorOverTol: worst };
}
