/**
 * The SWA decode kernel at the model's shape, previous version against the current one in the same
 * run: v1 swaAttentionDecodeForward (one workgroup per head over the ring) vs v2
 * swaDecodeSplitPartial + swaDecodeSplitMerge; both outputs checked against each other first.
 */
import { decodeKeys, SWA_SPLIT_BLOCK, swaAttentionDecodeForward, swaDecodeSplitMerge, swaDecodeSplitPartial } from '@hsa/kernels';
import { Tensor, type WebGpuBackend } from '@hsa/tensor';
import { fillRandom, type Timing, timeGpu } from './common.js';

export async function swaDecodeKernels(be: WebGpuBackend, s: { hq: number; hk: number; d: number; window: number }): Promise<{ v1: Timing; v2: Timing; maxDiff: number }> {
  const pos = 3 * s.window + 17;
  const scale = 1 / Math.sqrt(s.d);
  const p = { pos, hq: s.hq, hk: s.hk, d: s.d, window: s.window, scale, block: SWA_SPLIT_BLOCK };
  const t = (n: number, seed: number, shape: number[]) => Tensor.from(be, fillRandom(new Float32Array(n), seed), shape);
  const q = t(s.hq * s.d, 1, [s.hq, s.d]);
  const [kc, vc] = [t(s.window * s.hk * s.d, 2, [s.window, s.hk, s.d]), t(s.window * s.hk * s.d, 3, [s.window, s.hk, s.d])];
  const [kn, vn] = [t(s.hk * s.d, 4, [s.hk, s.d]), t(s.hk * s.d, 5, [s.hk, s.d])];
  const [o1, o2, l1, l2] = [[s.hq, s.d], [s.hq, s.d], [s.hq], [s.hq]].map((sh) => Tensor.empty(be, sh));
  const part = Tensor.empty(be, [s.hq, decodeKeys(p).splits, s.d + 2]);
  const v1 = () => be.run(swaAttentionDecodeForward, p, [q, kc, vc, kn, vn, o1, l1].map((x) => x.arg()));
  const v2 = () => {
    be.run(swaDecodeSplitPartial, p, [q, kc, vc, kn, vn, part].map((x) => x.arg()));
    be.run(swaDecodeSplitMerge, p, [part, o2, l2].map((x) => x.arg()));
  };
  v1();
  v2();
  const [a, b] = [await o1.data(), await o2.data()];
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  if (!(maxDiff < 1e-4)) throw new Error(`SWA decode v1 and v2 differ by ${maxDiff}`);
  const r = { v1: await timeGpu(be, v1, 100), v2: await timeGpu(be, v2, 100), maxDiff };
  for (const x of [q, kc, vc, kn, vn, o1, o2, l1, l2, part]) x.dispose();
  return r;
}
