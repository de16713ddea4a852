/**
 * The differentiable attention ops (ag.swaAttention, ag.chunkEncoderAttention, ag.hsaChunkAttention,
 * ag.hsaRetrieval): (1) float64 analytic gradients through the CPU path against central finite
 * differences; (2) each backend's f32 gradients against those float64 ones, on fresh random inputs.
 * Sizes: T not a multiple of S, rows t < S with no visible chunk, Hk = 1 and Hk = Hq, ratio 3.
 */
import type { Backend } from '../backend.js';
import { Tensor } from '../tensor.js';
import { type GradCase, gradientSuites } from '../test-utils/gradcheck-suite.js';
import * as ag from './index.js';

/** A fixed selection [5, hk, 2] over 3 chunks (repeats allowed). */
const idx = (be: Backend, hk: number) =>
  Tensor.from(be, Array.from({ length: 5 * hk * 2 }, (_, i) => (i * 7 + 1) % 3), [5, hk, 2], 'i32');

const CASES: GradCase[] = [
  { name: 'swaAttention hq 3, hk 1, window 2', shapes: [[7, 3, 4], [7, 1, 4], [7, 1, 4]], f: ([q, k, v]) => ag.swaAttention(q, k, v, { window: 2 }) },
  { name: 'swaAttention hq = hk = 2, window 9', shapes: [[6, 2, 3], [6, 2, 3], [6, 2, 3]], f: ([q, k, v]) => ag.swaAttention(q, k, v, { window: 9 }) },
  {
    name: 'chunkEncoderAttention hq 2, hk 1',
    shapes: [[2, 5, 2, 3], [2, 5, 1, 3], [2, 5, 1, 3]],
    f: ([q, k, v]) => ag.chunkEncoderAttention(q, k, v),
  },
  {
    name: 'hsaChunkAttention hq 3, hk 1 (S 2, 3 chunks)',
    shapes: [[5, 3, 4], [6, 1, 4], [6, 1, 4], [5, 1, 2]],
    f: ([q, k, v, w], be) => ag.hsaChunkAttention(q, k, v, idx(be, 1), w, { chunkSize: 2 }),
  },
  {
    name: 'hsaChunkAttention hq = hk = 2, off-by-one',
    shapes: [[5, 2, 3], [6, 2, 3], [6, 2, 3], [5, 2, 2]],
    f: ([q, k, v, w], be) => ag.hsaChunkAttention(q, k, v, idx(be, 2), w, { chunkSize: 2, smN: 1 }),
  },
  {
    name: 'hsaRetrieval softmax + pos_decay, singlehead, hk 2',
    shapes: [[11, 1, 3], [3, 1, 3]],
    f: ([qr, lmk]) => ag.hsaRetrieval(qr, lmk, { chunkSize: 4, topk: 2, mode: 'softmax', hk: 2, posDecay: 0.3 }).w,
  },
  {
    name: 'hsaRetrieval stick-breaking, hr = hk = 2, k > visible',
    shapes: [[11, 2, 3], [3, 2, 3]],
    f: ([qr, lmk]) => ag.hsaRetrieval(qr, lmk, { chunkSize: 4, topk: 5, mode: 'stickBreaking' }).w,
  },
];

// f32 softmax / exp inside sums of a few dozen terms: bounded relative to each tensor's largest gradient.
gradientSuites('autograd attention', CASES, 2e-4);
