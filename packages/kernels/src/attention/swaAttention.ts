/**
 * Dense attention kernels: swaAttentionForward (causal window of W+1 keys, GQA), chunkEncoderAttention
 * (bidirectional inside each chunk of T tokens) and swaAttentionDecode (one token against a ring
 * buffer of the last W keys plus itself). Math: swaAttention.ref.ts, chunkEncoderAttention.ref.ts.
 * v1: flash-style tiles (denseAttention.wgsl.ts): a workgroup owns BQ tokens × HB query heads of one
 *    KV head and streams 16-key K/V tiles through workgroup memory with an online softmax; one D-dot
 *    per thread for S, the softmax update serial per row (NR of 256 threads busy), then P·V.
 *    H200, T 4096, 8 heads × 64, causal: 4.0 ms (4.3 TFLOP/s). Kept for 'ring', D > 128, few rows.
 * v2 (denseAttentionV2.wgsl.ts): register-blocked like the GEMM: 64 (D ≤ 64) or 32 query rows ×
 *    32-key tiles, each thread a 4×2 (2×2) block of S and 4×DC (2×DC) of O in registers, the row max
 *    reduced by all threads through 16 partials per row, row sums reduced once at the end.
 * v3 (denseAttentionV3.wgsl.ts, default for 64 < D ≤ 128): v2 with contiguous per-thread rows / key pairs / dim pairs,
 *    so the inner loops read vec4 / vec2 from workgroup memory (2 reads per 8 multiply-adds in S,
 *    3 per 16 in P·V, against 6 and 8 scalar reads in v2); head size padded to 16/32/64/128.
 *    'auto' picks it for 'window' / 'block' when D ≤ 128 and a (segment, KV head) has ≥ BR/2 query
 *    rows; `version` forces one (bench/attention-forward.ts times all three; H200, T 4096, 8 heads ×
 *    64, causal: v1 4.01 ms, v2 1.94, v3 1.57 ms (10.9 TFLOP/s); the other shapes not yet timed).
 * v4 (denseAttentionV4.wgsl.ts): both products as GEMM-style register blocks
 *    (128 rows × 64-key tiles, 8 rows × 4 keys of S and 8 rows × 4 dims of O a thread, head dims
 *    streamed in slices of 16, P through workgroup memory in 16-key slices); 'auto' picks it where a
 *    (segment, KV head) fills at least half its 128 rows. H200 (bench/attention-forward): T 4096,
 *    8 heads × 64, causal 0.84 ms against v3's 1.57 (20.6 TFLOP/s); 512 chunks × 64 tokens 0.64
 *    against 0.90 ms.
 * v5 (default for D ≤ 64; v4 with `prefetch`): each slice's rows are loaded into registers while the
 *    slice before is multiplied, so no global load waits right before a barrier. H200 (9da40a6): T 4096
 *    causal 0.786 against v4's 0.836 ms (21.9 TFLOP/s), 512 chunks × 64 tokens 0.521 against 0.626.
 * Portable: 256 invocations, ≤ 32 KiB workgroup memory, head size ≤ 256 (compiled in).
 */
import type { FloatArray } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import { type BufferBinding, type DeviceCaps, grid, type Kernel, type Program, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type ChunkEncoderAttentionParams, chunkEncoderAttentionForwardRef } from './chunkEncoderAttention.ref.js';
import { DENSE_WG, type DenseTile, denseAttentionWgsl, denseWords } from './denseAttention.wgsl.js';
import { DENSE_V2_WG, type DenseTileV2, denseAttentionV2Wgsl, denseV2Words, paddedD } from './denseAttentionV2.wgsl.js';
import { denseAttentionV3Wgsl, denseV3Words, paddedDV3 } from './denseAttentionV3.wgsl.js';
import { DENSE_V4, denseAttentionV4Wgsl, denseV4Words, KEY_TILES_V4, type KeyTileV4 } from './denseAttentionV4.wgsl.js';
import { type SwaDecodeParams, type SwaParams, swaAttentionDecodeRef, swaAttentionForwardRef } from './swaAttention.ref.js';
import { chunkMmaUnsupported } from './hsaChunkAttention.js';
import { MMA_ROWS } from './hsaChunkAttentionMma.wgsl.js';
import { SWA_MMA_KT, SWA_MMA_TILE, type SwaMmaTile, swaAttentionMmaWgsl, swaMmaBytes } from './swaAttentionMma.wgsl.js';

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

/** v2 / v3 tile for a head ratio and head size, or null where they do not apply (mode, D, device limits). */
export function denseTileV2(ratio: number, d: number, mode: DenseTile['mode'], caps: DeviceCaps, v3 = false): DenseTileV2 | null {
  if (mode === 'ring' || d > 128) return null;
  const BR = d <= 64 ? 64 : 32;
  const HB = Math.min(ratio, BR);
  const dp = v3 ? paddedDV3(d) : paddedD(d);
  const DS = v3 ? Math.min(dp, 64) : d > 64 ? dp / 2 : dp;
  const tile: DenseTileV2 = { HB, BQ: Math.floor(BR / HB), BR, KT: 32, D: d, DS, mode };
  const words = v3 ? denseV3Words(tile) : denseV2Words(tile);
  return words * 4 <= caps.maxWorkgroupStorage && caps.maxInvocations >= DENSE_V2_WG ? tile : null;
}

/**
 * Forward kernel version: 'auto' picks v3 where it applies and a (segment, KV head) has ≥ BR/2 rows;
 * 'mma' (swaAttentionForward only: f16 subgroup matrices, see swaMmaUnsupported) reads f16 q, k, v
 * with SWA_MMA_KT zero rows past the last token of k and v (the op makes those copies).
 */
export type DenseVersion = 'auto' | 'v1' | 'v2' | 'v3' | 'v4' | 'v5' | 'mma';

/**
 * Why sliding-window attention cannot run on matrix units here (head size d, ratio query heads a KV
 * head), or null: f16 subgroup matrices as chunkMmaUnsupported requires them, 16·n query heads a KV
 * head (a subgroup's 16 rows), D a multiple of 16 up to 128 (the output matrices a subgroup holds).
 */
export function swaMmaUnsupported(caps: DeviceCaps, d: number, ratio: number): string | null {
  const why = chunkMmaUnsupported(caps, 64, 64);
  if (why) return why;
  if (ratio % MMA_ROWS !== 0) return `${ratio} query heads a KV head are not a multiple of ${MMA_ROWS}`;
  if (d % 16 !== 0 || d > 128) return `head size ${d} is not a multiple of 16 up to 128`;
  if (swaMmaBytes() > caps.maxWorkgroupStorage) return `needs ${swaMmaBytes()} bytes of workgroup memory`;
  if (4 * (caps.subgroupMaxSize ?? 32) > caps.maxInvocations) return `needs 4 subgroups a workgroup, over ${caps.maxInvocations} invocations`;
  return null;
}

/** The default layout (SWA_MMA_TILE) with as many of its tokens as the device's workgroup size allows. */
const swaMmaTileFor = (caps: DeviceCaps): SwaMmaTile => ({ ...SWA_MMA_TILE, tokens: Math.min(SWA_MMA_TILE.tokens, Math.floor(caps.maxInvocations / (caps.subgroupMaxSize ?? 32))) });

const MMA_BUFFERS: BufferBinding[] = BUFFERS.map((b) => (b.name === 'out' || b.name === 'lse' ? b : { ...b, type: 'f16' }));

function swaMmaProgram(c: DenseCall, caps: DeviceCaps, tile: SwaMmaTile = swaMmaTileFor(caps)): Program {
  const ratio = c.hq / c.hk;
  const why = swaMmaUnsupported(caps, c.d, ratio);
  if (why) throw new ArgumentError(`swaAttentionForward: the mma version cannot run here (${why})`);
  const sg = caps.subgroupMaxSize ?? 32;
  const ok = [16, 32, 64].includes(tile.kt) && tile.kt <= SWA_MMA_KT && Number.isInteger(tile.tokens) && tile.tokens >= 1 && tile.tokens * sg <= caps.maxInvocations;
  if (!ok || swaMmaBytes(tile) > caps.maxWorkgroupStorage) throw new ArgumentError(`swaAttentionForward: mma tile ${JSON.stringify(tile)} does not fit this device`);
  const hblocks = ratio / MMA_ROWS;
  const qtiles = Math.ceil(c.segLen / tile.tokens);
  const nwg = Math.ceil(c.tq / c.segLen) * qtiles * c.hk * hblocks;
  return {
    key: `swaAttentionMma${sg}:${tile.tokens}x${tile.kt}${tile.qRegs ? 'q' : ''}:d${c.d}`,
    code: () => swaAttentionMmaWgsl(c.d, sg, `${U.wgsl('U')}\n${wgslBindings(MMA_BUFFERS, 'U')}`, tile),
    buffers: MMA_BUFFERS,
    uniforms: U.pack({ ...c, ratio, hblocks, qtiles, nwg }),
    workgroups: c.tq === 0 ? [0, 1, 1] : grid(nwg, caps),
  };
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
  version?: DenseVersion;
  /** v4 / v5: each row's max by subgroup shuffles where the device has fixed-size subgroups (default true) */
  shuffleMax?: boolean;
  /** v4 / v5: keys a streamed key tile (64, 128, 192, 256: 8 × KT/16 score blocks a thread); default: keyTileDefault */
  keyTile?: KeyTileV4;
}

/** v4's tile for a call, or null where it does not apply (ring mode, D > 64, device limits). */
function denseTileV4(ratio: number, d: number, mode: DenseTile['mode'], caps: DeviceCaps, KT: number = DENSE_V4.KT): DenseTileV2 | null {
  if (mode === 'ring' || d > DENSE_V4.DP || denseV4Words(KT) * 4 > caps.maxWorkgroupStorage || caps.maxInvocations < DENSE_V2_WG) return null;
  const HB = Math.min(ratio, DENSE_V4.BR);
  return { HB, BQ: Math.floor(DENSE_V4.BR / HB), BR: DENSE_V4.BR, KT, D: d, DS: 16, mode };
}

function denseProgram(c: DenseCall, caps: DeviceCaps): Program {
  if (c.version === 'mma') throw new ArgumentError(`attention: the mma version is swaAttentionForward's only, not mode ${c.mode}`);
  const ratio = c.hq / c.hk;
  const forced4 = c.version === 'v4' || c.version === 'v5';
  if (forced4 || c.version === undefined || c.version === 'auto') {
    const KT = c.keyTile ?? keyTileDefault(c);
    if (!KEY_TILES_V4.includes(KT)) throw new ArgumentError(`attention: v4 / v5 key tiles of ${KEY_TILES_V4.slice(0, -1).join(', ')} or ${KEY_TILES_V4.at(-1)} keys, got ${KT}`);
    const t4 = denseTileV4(ratio, c.d, c.mode, caps, KT);
    if (forced4 && !t4) throw new ArgumentError(`attention: ${c.version} with ${KT}-key tiles does not apply to mode ${c.mode}, head size ${c.d} on this device (D ≤ 64, ${denseV4Words(KT) / 256} KiB of workgroup memory)`);
    const prefetch = forced4 ? c.version === 'v5' : DENSE_V4_PREFETCH;
    // auto: v4 / v5 where a (segment, KV head) fills at least half its 128 rows
    if (t4 && (forced4 || Math.min(c.segLen, c.tq) * ratio * 2 >= DENSE_V4.BR)) return denseProgramV4(c, t4, prefetch, caps);
  }
  const v3 = c.version !== 'v2';
  const v2 = c.version === 'v1' ? null : denseTileV2(ratio, c.d, c.mode, caps, v3);
  if ((c.version === 'v2' || c.version === 'v3') && !v2) throw new ArgumentError(`attention: ${c.version} does not apply to mode ${c.mode}, head size ${c.d} on this device`);
  if (v2 && (c.version === 'v2' || c.version === 'v3' || Math.min(c.segLen, c.tq) * ratio * 2 >= v2.BR)) return denseProgramV2(c, v2, v3, caps);
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

/** A v2 / v3 / v4 program: one workgroup per HB·BQ rows of a segment and KV head. */
function tiledProgram(c: DenseCall, tile: DenseTileV2, key: string, gen: (t: DenseTileV2, header: string) => string, caps: DeviceCaps): Program {
  const ratio = c.hq / c.hk;
  const hblocks = Math.ceil(ratio / tile.HB);
  const qtiles = Math.ceil(c.segLen / tile.BQ);
  const nwg = Math.ceil(c.tq / c.segLen) * qtiles * c.hk * hblocks;
  return {
    key,
    code: () => gen(tile, `${U.wgsl('U')}\n${wgslBindings(BUFFERS, 'U')}`),
    buffers: BUFFERS,
    uniforms: U.pack({ ...c, ratio, hblocks, qtiles, nwg }),
    workgroups: c.tq === 0 ? [0, 1, 1] : grid(nwg, caps),
  };
}

function denseProgramV2(c: DenseCall, tile: DenseTileV2, v3: boolean, caps: DeviceCaps): Program {
  const key = `denseAttentionV${v3 ? 3 : 2}:${c.mode}:${tile.HB}x${tile.BQ}x${tile.BR}x${tile.KT}:d${c.d}x${tile.DS}`;
  return tiledProgram(c, tile, key, v3 ? denseAttentionV3Wgsl : denseAttentionV2Wgsl, caps);
}

/**
 * Whether `auto` takes v5 (v4 with prefetched slices) over v4. H200 (bench/attention-forward,
 * 9da40a6): T 4096 causal 8 heads × 64 0.786 against 0.836 ms, chunk encoder 512 × 64 tokens 0.521
 * against 0.626.
 */
const DENSE_V4_PREFETCH = true;

/**
 * The key tile v4 / v5 stream by default: 128 keys for windowed calls whose rows see ≥ 1024 keys, else
 * 64. H200 (bench/attention-forward, 2026-12-01): T 4096 causal 8 heads × 64 0.712 against 0.769 ms
 * (192 keys 0.710, 256 keys 0.756); the chunk encoder's 64-token blocks (half of each 128-key tile
 * past the block) 0.809 against 0.511.
 */
const keyTileDefault = (c: DenseCall): KeyTileV4 => (c.mode === 'window' && Math.min(c.segLen, c.tq) >= 1024 && c.window >= 1023 ? 128 : 64);

/**
 * Lanes of a subgroup over which v4 / v5 reduce each row's max by shuffles (0: through workgroup
 * memory only): the device's subgroup size where it is fixed, at most the 16 lanes of a row group.
 */
function denseV4ShuffleLanes(caps: DeviceCaps, use = true): number {
  return use && caps.subgroups && caps.subgroupMinSize === (caps.subgroupMaxSize ?? caps.subgroupMinSize) ? Math.min(caps.subgroupMinSize, 16) : 0;
}

function denseProgramV4(c: DenseCall, tile: DenseTileV2, prefetch: boolean, caps: DeviceCaps): Program {
  const sg = denseV4ShuffleLanes(caps, c.shuffleMax ?? true);
  const key = `denseAttentionV${prefetch ? 5 : 4}:${c.mode}:${tile.HB}x${tile.BQ}:d${c.d}${sg ? `:sg${sg}` : ''}${tile.KT === DENSE_V4.KT ? '' : `:k${tile.KT}`}`;
  return tiledProgram(c, tile, key, (t, header) => denseAttentionV4Wgsl(t, header, prefetch, sg), caps);
}

const scaleOf = (p: { d: number; scale?: number }) => p.scale ?? 1 / Math.sqrt(p.d);

/** swaAttentionForward: [q [T,Hq,D], k, v [T,Hk,D], out [T,Hq,D], lse [T,Hq]]. */
export const swaAttentionForward: Kernel<SwaParams & { version?: DenseVersion; mmaTile?: SwaMmaTile; shuffleMax?: boolean; keyTile?: KeyTileV4 }> = {
  name: 'swaAttentionForward',
  ref: (a, p) => swaAttentionForwardRef(a as FloatArray[], p),
  program(p, caps) {
    // the WGSL kernels compute every row: an op that wants rows from qStart pads q and slices
    if (p.qStart) throw new ArgumentError('swaAttentionForward: qStart is a CPU-reference option; the GPU kernels compute all T rows');
    const c: DenseCall = { mode: 'window', tq: p.t, hq: p.hq, hk: p.hk, d: p.d, segLen: p.segLen ?? p.t, window: p.window, first: 0, nkeys: 0, scale: scaleOf(p), version: p.version, shuffleMax: p.shuffleMax, keyTile: p.keyTile };
    return p.version === 'mma' ? swaMmaProgram(c, caps, p.mmaTile) : denseProgram(c, caps);
  },
};

/** chunkEncoderAttentionForward: [q [N,T,Hq,D], k, v [N,T,Hk,D], out, lse [N,T,Hq]]. */
export const chunkEncoderAttentionForward: Kernel<ChunkEncoderAttentionParams & { version?: DenseVersion; shuffleMax?: boolean; keyTile?: KeyTileV4 }> = {
  name: 'chunkEncoderAttentionForward',
  // one pass writes out and lse (this used to run the whole attention a second time for lse)
  ref: (a, p) => chunkEncoderAttentionForwardRef(a as FloatArray[], p),
  program: (p, caps) =>
    denseProgram({ mode: 'block', tq: p.n * p.t, hq: p.hq, hk: p.hk, d: p.d, segLen: p.t, window: 0, first: 0, nkeys: 0, scale: scaleOf(p), version: p.version, shuffleMax: p.shuffleMax, keyTile: p.keyTile }, caps),
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
