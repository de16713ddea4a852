/**
 * Dense attention kernels: swaAttentionForward (causal window of W+1 keys, GQA), chunkEncoderAttention
 * (bidirectional inside each chunk of T tokens) and swaAttentionDecode (one token against a ring
 * buffer of the last W keys plus itself). Math: swaAttention.ref.ts, chunkEncoderAttention.ref.ts.
 * v1: flash-style tiles (denseAttention.wgsl.ts): a workgroup owns BQ tokens × HB query heads of one
 *    KV head and streams 16-key K/V tiles through workgroup memory with an online softmax.
 * Portable: 256 invocations, ≤ 32 KiB workgroup memory, head size ≤ 256 (compiled in).
 */
import type { FloatArray } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import { type BufferBinding, type DeviceCaps, grid, type Kernel, type Program, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type ChunkEncoderAttentionParams, chunkEncoderAttentionForwardRef } from './chunkEncoderAttention.ref.js';
import { type DenseDims, denseAttentionForward } from './denseAttention.js';
import { DENSE_WG, type DenseTile, denseAttentionWgsl, denseWords } from './denseAttention.wgsl.js';
import { type SwaDecodeParams, type SwaParams, swaAttentionDecodeRef, swaAttentionForwardRef } from './swaAttention.ref.js';

/** Largest head size the dense kernels compile. */
export const DENSE_MAX_D = 256;

const U = defineUniforms({
  tq: 'u32',
  hq: 'u32',
  hk: 'u32',
  ratio: 'u32',
  hblocks: 'u32',
  qtiles: 'u32',
  segLen: 'u32',
  window: 'u32',
  first: 'u32',
  nkeys: 'u32',
  nwg: 'u32',
  scale: 'f32',
});

const q = { access: 'read', type: 'f32' } as const;
const out = { access: 'read_write', type: 'f32' } as const;
const BUFFERS: BufferBinding[] = [{ name: 'q', ...q }, { name: 'k', ...q }, { name: 'v', ...q }, { name: 'out', ...out }, { name: 'lse', ...out }];
const RING_BUFFERS: BufferBinding[] = [
  ...BUFFERS.slice(0, 3),
  { name: 'kn', ...q },
  { name: 'vn', ...q },
  ...BUFFERS.slice(3),
];

/** Tile shape for a head ratio and head size: up to 16 query rows (heads first, then tokens). */
export function denseTile(ratio: number, d: number, mode: DenseTile['mode'], caps: DeviceCaps): DenseTile {
  if (d > DENSE_MAX_D) throw new ArgumentError(`attention: head size ${d} is over the compiled maximum ${DENSE_MAX_D}`);
  const rows = d <= 64 ? 32 : d <= 128 ? 16 : 8;
  const HB = Math.min(ratio, rows);
  const BQ = mode === 'ring' ? 1 : Math.max(1, Math.floor(rows / HB));
  const tile: DenseTile = { HB, BQ, KT: d > 128 ? 8 : 16, D: d, mode };
  if (denseWords(tile) * 4 > caps.maxWorkgroupStorage || caps.maxInvocations < DENSE_WG) {
    throw new ArgumentError(`attention: tile ${JSON.stringify(tile)} does not fit this device's workgroup limits`);
  }
  return tile;
}

interface DenseCall {
  mode: DenseTile['mode'];
  tq: number;
  hq: number;
  hk: number;
  d: number;
  segLen: number;
  window: number;
  first: number;
  nkeys: number;
  scale: number;
}

function denseProgram(c: DenseCall, caps: DeviceCaps): Program {
  const ratio = c.hq / c.hk;
  const tile = denseTile(ratio, c.d, c.mode, caps);
  const hblocks = Math.ceil(ratio / tile.HB);
  const qtiles = Math.ceil(c.segLen / tile.BQ);
  const segs = Math.ceil(c.tq / c.segLen);
  const nwg = segs * qtiles * c.hk * hblocks;
  const bufs = c.mode === 'ring' ? RING_BUFFERS : BUFFERS;
  return {
    key: `denseAttention:${c.mode}:${tile.HB}x${tile.BQ}x${tile.KT}:d${c.d}`,
    code: () => denseAttentionWgsl(tile, `${U.wgsl('U')}\n${wgslBindings(bufs, 'U')}`),
    buffers: bufs,
    uniforms: U.pack({ ...c, ratio, hblocks, qtiles, nwg }),
    workgroups: c.tq === 0 ? [0, 1, 1] : grid(nwg, caps),
  };
}

const scaleOf = (p: { d: number; scale?: number }) => p.scale ?? 1 / Math.sqrt(p.d);

/** swaAttentionForward: [q [T,Hq,D], k, v [T,Hk,D], out [T,Hq,D], lse [T,Hq]]. */
export const swaAttentionForward: Kernel<SwaParams> = {
  name: 'swaAttentionForward',
  ref: (a, p) => swaAttentionForwardRef(a as FloatArray[], p),
  program: (p, caps) =>
    denseProgram({ mode: 'window', tq: p.t, hq: p.hq, hk: p.hk, d: p.d, segLen: p.t, window: p.window, first: 0, nkeys: 0, scale: scaleOf(p) }, caps),
};

/** chunkEncoderAttentionForward: [q [N,T,Hq,D], k, v [N,T,Hk,D], out, lse [N,T,Hq]]. */
export const chunkEncoderAttentionForward: Kernel<ChunkEncoderAttentionParams> = {
  name: 'chunkEncoderAttentionForward',
  ref([q, k, v, o, lse], p) {
    chunkEncoderAttentionForwardRef([q, k, v, o] as FloatArray[], p);
    // the reference has no lse output: recompute it per chunk for the backward pass
    const x: DenseDims = { tq: p.t, tk: p.t, hq: p.hq, hk: p.hk, d: p.d, scale: scaleOf(p) };
    const [qs, ks] = [p.t * p.hq * p.d, p.t * p.hk * p.d];
    const tmp = new Float64Array(qs);
    for (let c = 0; c < p.n; c++) {
      const sub = (a: unknown, n: number) => (a as FloatArray).subarray(c * n, (c + 1) * n);
      denseAttentionForward(sub(q, qs), sub(k, ks), sub(v, ks), tmp, sub(lse, p.t * p.hq), x, () => [0, p.t - 1]);
    }
  },
  program: (p, caps) =>
    denseProgram({ mode: 'block', tq: p.n * p.t, hq: p.hq, hk: p.hk, d: p.d, segLen: p.t, window: 0, first: 0, nkeys: 0, scale: scaleOf(p) }, caps),
};

/**
 * swaAttentionDecodeForward: [q [Hq,D], kCache, vCache [W,Hk,D], kNew, vNew [Hk,D], out [Hq,D], lse [Hq]];
 * attends only (the op appends kNew/vNew to the ring afterwards with a device copy).
 */
export const swaAttentionDecodeForward: Kernel<SwaDecodeParams> = {
  name: 'swaAttentionDecodeForward',
  ref([q, kc, vc, kn, vn, o, lse], p) {
    swaAttentionDecodeRef([q, kn, vn, kc, vc, o] as FloatArray[], { ...p, append: false });
    (lse as FloatArray).fill(Number.NaN);
  },
  program(p, caps) {
    const first = Math.max(0, p.pos - p.window);
    const nkeys = p.pos - first + 1;
    return denseProgram({ mode: 'ring', tq: 1, hq: p.hq, hk: p.hk, d: p.d, segLen: 1, window: p.window, first, nkeys, scale: scaleOf(p) }, caps);
  },
};
