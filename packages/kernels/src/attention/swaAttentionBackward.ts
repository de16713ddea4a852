/**
 * Dense attention backward kernels (SWA window, chunk-encoder block), math as denseAttentionBackward
 * (swaAttention.ref.ts, chunkEncoderAttention.ref.ts), from the forward's saved log-sum-exp:
 *   denseAttentionDelta:  delta[t,h] = dout[t,h]·out[t,h]
 *   denseAttentionDq:     dq[t,h] = scale·Σ_j p_j(dout·v_j − delta)·k_j,  p_j = exp(q·k_j·scale − lse)
 *   denseAttentionDkv:    dv[j,g] = Σ p·dout,  dk[j,g] = scale·Σ p(dout·v_j − delta)·q  over the query
 *                         rows that see key j (fixed order: deterministic, no atomics)
 * v1 (swaAttentionBackward.wgsl.ts): flash-style recomputation per tile, one D-dot per thread for each
 *    p / ds from scalar workgroup-memory reads, then dq / dk / dv one element per thread.
 *    H200, T 4096, 8 heads × 64, causal: dq + dkv 9.8 ms (~3.5 TFLOP/s), 73% of a training step.
 * v2 (swaAttentionBackwardV2.wgsl.ts): register-blocked like the forward's v2 / v3: the workgroup's
 *    threads split in halves that compute S and dP side by side (2×2 … 4×2 blocks per thread, vec4
 *    reads along the head dims), then dq (or dk and dv, one per half) accumulated in 4–16-element
 *    register blocks from vec4 reads; head size padded to 16/32/64/128, D ≤ 128. 'auto' picks it
 *    where it applies (v1 above D 128 or where the device's limits refuse its tile); `version`
 *    forces one. H200 (bench/attention-forward, commit 52acdec), dq + dkv: T 4096 × 8 heads × 64 causal
 *    5.18 ms vs v1 9.71 (1.9×); SWA 32K, 32:2 heads × 128, W 4K 999 ms vs 2228 (2.2×); chunk encoder
 *    512 × 64 tokens 1.77 vs 2.84 ms (1.6×).
 *    Where a device grants > 32 KiB of workgroup memory, D 64 and 128 take larger tiles (SHAPES_LARGE):
 *    dq + dkv 4.14 ms against the table's 5.18 at the training shape (H200, 1.25×); D 128, T 4096
 *    causal, 32 : 2 heads 47.8 against 65.8 ms (1.38×).
 *    `tileV2` forces other tiles (bench/attention-backward sweeps them).
 * v3 (denseAttentionDkvDs + denseAttentionDqFromDs, denseDqFromDs.wgsl.ts): v2's dkv also stores each
 *    visible score gradient dS in a band (denseDsBand columns a query row), and dq = Σ dS·k reads it
 *    back instead of recomputing S, P and dP. H200, T 4096 × 8 heads × 64 causal: dq + dkv 2.84 ms
 *    against v2's 4.14 (1.45×); chunk encoder 0.96 against 1.51 ms. The tensor op chooses it.
 *    For D ≤ 64 its dkv kernel is the v4 blocking (denseDkvV4.wgsl.ts, NR rows a thread: dkvV4Rows):
 *    dkv + band 2.05 against 2.22 ms in v2's blocks (T 4096 causal), 0.60 against 0.83 (chunk encoder);
 *    with 8 rows its loops are unrolled (1.98 ms), and it is compiled for the call's head ratio
 *    (1.88). Its dq kernel prefetches the next key tile in window mode for D 33–64
 *    (dqPrefetchDefault: 0.645 → 0.477 ms at T 4096 causal).
 *    Its phase B in halves (dkvHalves, default): threads 0–127 dV, 128–255 dK, 4 keys × 8 dims each,
 *    with 4 rows a thread, the loops unrolled where dkvV4Rows picks 8 (≥ 128 query rows a key tile):
 *    T 4096 causal (tile-major) 1.572 → 1.354 ms, the chunk encoder's blocks 0.423 → 0.397
 *    (bench/attention-backward --order, H200; halves with 8 rows 2.50, unrolled blocks 0.536).
 * Portable: 256 invocations, ≤ 32 KiB workgroup memory, head size ≤ 256 (compiled in).
 */
import type { FloatArray } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import { type BufferBinding, type DeviceCaps, grid, type Kernel, type Program, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { threadsPerRow, wgslRowIndex, wgslWorkgroupReduce } from '../reduce/tree.wgsl.js';
import { denseAttentionBackward } from './denseAttention.js';
import { type DqFromDsShape, denseDqFromDsWgsl, dqFromDsInvalid, dqFromDsTile, dqFromDsWords } from './denseDqFromDs.wgsl.js';
import { headRatio } from './common.js';
import { paddedDV3 } from './denseAttentionV3.wgsl.js';
import { DKV_V4_KT, type DenseDkvTileV4, denseDkvV4Wgsl, denseDkvV4Words } from './denseDkvV4.wgsl.js';
import { DENSE_BACK_WG, type DenseBackTile, denseBackWords, denseDkvWgsl, denseDqWgsl } from './swaAttentionBackward.wgsl.js';
import { type DenseBackShapeV2, type DenseBackTileV2, denseBackShapeV2, denseBackShapeV2Invalid, denseBackShapeV2Large, denseBackV2Words, denseDkvV2Wgsl, denseDqV2Wgsl } from './swaAttentionBackwardV2.wgsl.js';

/** One backward call: `segs` segments of `t` tokens (SWA: packed sequences, window mode). */
export interface DenseBackwardParams {
  mode: 'window' | 'block';
  /** segments (chunk-encoder chunks N; SWA: the packed sequences, 1 for one) */
  segs: number;
  /** tokens per segment */
  t: number;
  hq: number;
  hk: number;
  d: number;
  /** window W (window mode) */
  window: number;
  /** default 1/√D */
  scale?: number;
  /** kernel version: 'auto' (default) picks v2 where it applies, else v1 */
  version?: DenseBackwardVersion;
  /** v2's tiles instead of its table's (an ArgumentError where one cannot be generated or does not fit) */
  tileV2?: { dq?: DenseBackShapeV2; dkv?: DenseBackShapeV2 };
  /** v3's dq-from-dS tile instead of its table's */
  tileDqFromDs?: DqFromDsShape;
  /**
   * v3's dkv kernel for D ≤ 64: the v4 register blocks (denseDkvV4.wgsl.ts) with NR = 4 or 8 rows a
   * thread (default dkvV4Rows), or false for v2's blocks (also taken where `tileV2.dkv` is given)
   */
  dkvV4?: false | 4 | 8;
  /** the v4 dkv kernel loads its next slice into registers while it multiplies the current one (default DKV_V4_PREFETCH: false) */
  dkvPrefetch?: boolean;
  /** the v4 dkv kernel's 16-step loops unrolled in the generated code (default: with 8 rows a thread) */
  dkvUnroll?: boolean;
  /**
   * the v4 dkv kernel's phase B in halves, dV and dK 4 keys × 8 dims a thread (DenseDkvTileV4.halves);
   * default true, with 4 rows a thread (dkvV4) and its loops unrolled where dkvV4Rows picks 8
   */
  dkvHalves?: boolean;
  /** v3's dq-from-dS kernel loads the next key tile into registers while it multiplies the current one (default dqPrefetchDefault) */
  dqPrefetch?: boolean;
  /**
   * the v4 dkv kernel compiled for this call's query heads per KV head (divisions by a constant; a
   * program per ratio). Default true: T 4096 causal (H200, 0423213) 1.877 against 1.984 ms.
   */
  dkvConstRatio?: boolean;
  /**
   * v3's kernels (dkv in v4 blocks, dq from the band) start tile t of every KV head and segment before
   * tile t + 1 (the heaviest causal tiles of all heads first) instead of each head's tiles in turn.
   * Default TILE_MAJOR_DEFAULT.
   */
  tileMajor?: boolean;
}

/**
 * Whether v3's kernels order their workgroups tile-major by default (see `tileMajor`). H200
 * (bench/attention-backward --order, three rounds each): T 4096 causal 8 × 64, dkv + band 1.572
 * against 1.876 ms head-major, dq from the band 0.398 against 0.477; the chunk encoder's blocks
 * (one tile a segment) the same either way (0.422 / 0.126 ms).
 */
const TILE_MAJOR_DEFAULT = true;

/**
 * Backward kernel version ('v2' throws where it does not apply: D > 128, device limits). 'v3' is a
 * pair of other kernels (denseAttentionDkvDs, denseAttentionDqFromDs: dkv stores the score gradients,
 * dq reads them back); the tensor op chooses it where its band fits (denseDsBandElements).
 */
export type DenseBackwardVersion = 'auto' | 'v1' | 'v2' | 'v3';

export const DENSE_BACK_MAX_D = 256;

const U = defineUniforms({
  tq: 'u32',
  hq: 'u32',
  hk: 'u32',
  ratio: 'u32',
  segLen: 'u32',
  window: 'u32',
  tiles: 'u32',
  nwg: 'u32',
  nq: 'u32',
  nk: 'u32',
  scale: 'f32',
  band: 'u32',
});

const R = { access: 'read', type: 'f32' } as const;
const W = { access: 'read_write', type: 'f32' } as const;
const INS: BufferBinding[] = ['q', 'k', 'v', 'dout', 'lse', 'delta'].map((name) => ({ name, ...R }));
const DQ_BUFFERS: BufferBinding[] = [...INS, { name: 'dq', ...W }];
const DKV_BUFFERS: BufferBinding[] = [...INS, { name: 'dk', ...W }, { name: 'dv', ...W }];
// v3: lse and delta in one binding (ld = [lse | delta]) so that dkv + the band stay 8 storage buffers
const DKV_DS_BUFFERS: BufferBinding[] = [...INS.slice(0, 4), { name: 'ld', ...R }, { name: 'dk', ...W }, { name: 'dv', ...W }, { name: 'ds', ...W }];
const DQ_DS_BUFFERS: BufferBinding[] = [{ name: 'ds', ...R }, { name: 'k', ...R }, { name: 'dq', ...W }];

/**
 * Columns of a row of the score-gradient band (v3): the keys a query row can see, window + 1 (at most
 * the segment) in window mode (column key − t + band − 1), the whole segment in block mode (key − s0).
 */
export const denseDsBand = (p: DenseBackwardParams): number => (p.mode === 'window' ? Math.min(p.window + 1, p.t) : p.t);

/** Elements of the band: a row of denseDsBand columns for each query row (segments · Hq · t). */
export const denseDsBandElements = (p: DenseBackwardParams): number => p.segs * p.hq * p.t * denseDsBand(p);

/** The band index of (segment s, KV head g, row, local token t, local key j): dsAt in the WGSL. */
function dsIndex(p: DenseBackwardParams, band: number, s: number, g: number, row: number, t: number, j: number): number {
  const ratio = p.hq / p.hk;
  return ((s * p.hk + g) * p.t * ratio + row) * band + (p.mode === 'window' ? j - t + band - 1 : j);
}

/**
 * dq-from-dS prefetches by default in window mode for head sizes padded to 64, with 64 rows × 32 keys.
 * H200 (bench/attention-backward --v3, fd8dc2d), T 4096 causal 8 × 64: 0.477 ms against the table's
 * 64 × 16 unprefetched 0.645 (64 × 16 prefetched 0.526; every tile of the sweep gained 20–28%); the
 * chunk encoder's 64-token blocks did not gain (0.131–0.133 against 0.125), other head sizes are not
 * measured.
 */
const DQ_PREFETCH_TILE_D64: DqFromDsShape = [64, 32, 4, 1];
const dqPrefetchDefault = (p: DenseBackwardParams): boolean => p.mode === 'window' && paddedDV3(p.d) === 64;

/** v3's dq tile for a call where it applies (D ≤ 128, the device's limits), else null. */
function dqFromDs(p: DenseBackwardParams, caps: DeviceCaps) {
  if (p.d > 128) return null;
  const prefetch = p.dqPrefetch ?? dqPrefetchDefault(p);
  const shape = p.tileDqFromDs ?? (prefetch && paddedDV3(p.d) === 64 ? DQ_PREFETCH_TILE_D64 : undefined);
  const tile = { ...dqFromDsTile(p.d, p.mode, shape), prefetch, tileMajor: p.tileMajor ?? TILE_MAJOR_DEFAULT };
  const why = dqFromDsInvalid(tile) ?? (dqFromDsWords(tile) * 4 > caps.maxWorkgroupStorage ? 'over the workgroup memory' : null);
  if (why && p.tileDqFromDs) throw new ArgumentError(`attention backward: v3 dq tile ${p.tileDqFromDs.join('×')} for head size ${p.d}: ${why}`);
  return why || caps.maxInvocations < DENSE_BACK_WG ? null : tile;
}

/** Whether v3 applies to a call on a device: v2's dkv tile and v3's dq tile both do (D ≤ 128). */
export function denseBackwardV3Applies(p: DenseBackwardParams, caps: DeviceCaps): boolean {
  return denseBackTileV2('dkv', p.d, p.mode, caps, p.tileV2?.dkv) !== null && dqFromDs(p, caps) !== null;
}

/** Tile shape for a head size (the same for both kernels). */
export function denseBackTile(d: number, mode: DenseBackTile['mode'], caps: DeviceCaps): DenseBackTile {
  if (d > DENSE_BACK_MAX_D) throw new ArgumentError(`attention backward: head size ${d} is over the compiled maximum ${DENSE_BACK_MAX_D}`);
  const tile: DenseBackTile = d <= 64 ? { QR: 16, BK: 16, D: d, mode } : d <= 128 ? { QR: 16, BK: 8, D: d, mode } : { QR: 8, BK: 4, D: d, mode };
  if (denseBackWords(tile) * 4 > caps.maxWorkgroupStorage || caps.maxInvocations < DENSE_BACK_WG) {
    throw new ArgumentError(`attention backward: tile ${JSON.stringify(tile)} does not fit this device's workgroup limits`);
  }
  return tile;
}

/** v2 tile for a kernel and head size, or null where v2 does not apply (D > 128, device limits). */
export function denseBackTileV2(which: 'dq' | 'dkv', d: number, mode: DenseBackTile['mode'], caps: DeviceCaps, shape?: DenseBackShapeV2): DenseBackTileV2 | null {
  const bytes = (t: DenseBackTileV2) => denseBackV2Words(t) * 4;
  const tile = denseBackShapeV2(which, d, mode, shape);
  if (tile && shape) {
    const why = denseBackShapeV2Invalid(tile) ?? (bytes(tile) > caps.maxWorkgroupStorage ? `${bytes(tile)} bytes of workgroup memory, over ${caps.maxWorkgroupStorage}` : null);
    if (why) throw new ArgumentError(`attention backward: v2 ${which} tile ${shape.join('×')} for head size ${d}: ${why}`);
  }
  if (!tile || bytes(tile) > caps.maxWorkgroupStorage || caps.maxInvocations < DENSE_BACK_WG) return null;
  // no tile asked for: the large-memory one where the device grants its workgroup memory
  const large = shape ? undefined : denseBackShapeV2Large(which, d);
  const big = large && denseBackShapeV2(which, d, mode, large);
  return big && bytes(big) <= caps.maxWorkgroupStorage ? big : tile;
}

/** The tiling of a call: v2's tile where chosen, else v1's; rows (dq) or keys (dkv) per workgroup. */
function chooseTile(p: DenseBackwardParams, caps: DeviceCaps, which: 'dq' | 'dkv') {
  const v2 = p.version === 'v1' ? null : denseBackTileV2(which, p.d, p.mode, caps, p.tileV2?.[which]);
  if ((p.version === 'v2' || p.version === 'v3') && !v2) throw new ArgumentError(`attention backward: ${p.version} does not apply to head size ${p.d} on this device (D ≤ 128)`);
  if (v2) return { v2, v1: null, per: which === 'dq' ? v2.BR : v2.KT };
  const v1 = denseBackTile(p.d, p.mode, caps);
  return { v2: null, v1, per: which === 'dq' ? v1.QR : v1.BK };
}

/** The uniforms and grid of a call over `tiles` tiles a (segment, KV head). */
function launch(p: DenseBackwardParams, caps: DeviceCaps, tiles: number) {
  const ratio = headRatio('attentionBackward', p.hq, p.hk);
  const tq = p.segs * p.t;
  const nwg = p.segs * p.hk * tiles;
  return {
    uniforms: U.pack({
      tq,
      hq: p.hq,
      hk: p.hk,
      ratio,
      segLen: p.t,
      window: p.mode === 'window' ? p.window : 0,
      tiles,
      nwg,
      nq: tq * p.hq * p.d,
      nk: tq * p.hk * p.d,
      scale: p.scale ?? 1 / Math.sqrt(p.d),
      band: denseDsBand(p),
    }),
    workgroups: nwg === 0 ? ([0, 1, 1] as [number, number, number]) : grid(nwg, caps),
  };
}

/**
 * v4 dkv's rows a thread by default: 8 (row tiles of 128) where a key tile's queries fill them (a
 * window or segment of ≥ 128 query rows), else 4. H200 (bench/attention-backward --v3, 447e688),
 * dkv + band: T 4096 × 8 heads × 64 causal 2.05 ms with 8, 2.29 with 4, 2.22 in v2's blocks; chunk
 * encoder 512 × 64 tokens 0.60 with 4, 0.96 with 8, 0.83 in v2's blocks.
 */
export function dkvV4Rows(p: DenseBackwardParams): 4 | 8 {
  const tokens = p.mode === 'window' ? Math.min(p.t, p.window + 1) : p.t;
  return tokens * (p.hq / p.hk) >= 128 ? 8 : 4;
}

/**
 * Whether the v4 dkv kernel prefetches its slices by default; it unrolls its loops by default with 8
 * rows a thread. H200 (bench/attention-backward --v3, 9da40a6 and f67431e), T 4096 causal 8 × 64:
 * 8 rows 2.045 ms, prefetched 2.045–2.051, unrolled 1.979, both 2.110; 4 rows 2.268, prefetched
 * 2.058, unrolled 2.471. The chunk encoder's figures moved by up to 3× between runs of the same
 * kernel in these runs (timed first after the warm-up), so they decide nothing.
 */
const DKV_V4_PREFETCH = false;

/** v3's dkv in v4 blocks where it applies (D ≤ 64, no v2 tile asked for, 256 invocations), else null. */
function dkvV4Tile(p: DenseBackwardParams, caps: DeviceCaps): DenseDkvTileV4 | null {
  if (p.d > 64 || p.dkvV4 === false || (p.tileV2?.dkv && p.dkvV4 === undefined)) return null;
  const halves = p.dkvHalves ?? true;
  // in halves 4 rows a thread (8 spill: 2.50 against 1.35 ms at T 4096), unrolled where there are many rows
  const many = dkvV4Rows(p) === 8;
  const NR = p.dkvV4 ?? (halves ? 4 : dkvV4Rows(p));
  const unroll = p.dkvUnroll ?? (halves ? many : NR === 8);
  const ratio = p.dkvConstRatio === false ? undefined : headRatio('attentionBackward', p.hq, p.hk);
  const tile: DenseDkvTileV4 = { NR, D: p.d, mode: p.mode, prefetch: p.dkvPrefetch ?? DKV_V4_PREFETCH, unroll, ratio, tileMajor: p.tileMajor ?? TILE_MAJOR_DEFAULT, halves };
  return denseDkvV4Words(tile) * 4 <= caps.maxWorkgroupStorage && caps.maxInvocations >= DENSE_BACK_WG ? tile : null;
}

/** dq or dkv (v1 / v2; with `ds`, v2's dkv that also stores the band: v3, in v4 blocks for D ≤ 64). */
function program(p: DenseBackwardParams, caps: DeviceCaps, which: 'dq' | 'dkv', ds = false): Program {
  const ratio = headRatio('attentionBackward', p.hq, p.hk);
  const v4 = ds ? dkvV4Tile(p, caps) : null;
  if (v4) {
    const header = `${U.wgsl('U')}\n${wgslBindings(DKV_DS_BUFFERS, 'U')}`;
    return {
      key: `denseAttentionDkvV4:${p.mode}:${v4.NR}:d${p.d}${v4.prefetch ? ':pf' : ''}${v4.unroll ? ':u' : ''}${v4.halves ? ':hv' : ''}${v4.ratio === undefined ? '' : `:r${v4.ratio}`}${v4.tileMajor ? ':tm' : ''}`,
      code: () => denseDkvV4Wgsl(v4, header),
      buffers: DKV_DS_BUFFERS,
      ...launch(p, caps, Math.ceil(p.t / DKV_V4_KT)),
    };
  }
  const { v1, v2, per } = chooseTile(p, caps, which);
  const tiles = which === 'dq' ? Math.ceil((p.t * ratio) / per) : Math.ceil(p.t / per);
  const bufs = ds ? DKV_DS_BUFFERS : which === 'dq' ? DQ_BUFFERS : DKV_BUFFERS;
  const header = `${U.wgsl('U')}\n${wgslBindings(bufs, 'U')}`;
  const key = v2 ? `denseAttention${which}V2:${p.mode}:${v2.BR}x${v2.KT}:${v2.R}x${v2.C}:${v2.N}x${v2.G}:d${p.d}${ds ? ':ds' : ''}` : `denseAttention${which}:${p.mode}:${v1.QR}x${v1.BK}:d${p.d}`;
  const code = () => {
    if (v2) return which === 'dq' ? denseDqV2Wgsl(v2, header) : denseDkvV2Wgsl({ ...v2, ds }, header);
    return which === 'dq' ? denseDqWgsl(v1, header) : denseDkvWgsl(v1, header);
  };
  return { key, code, buffers: bufs, ...launch(p, caps, tiles) };
}

/** Inclusive keys of local token t of a segment: its window (window mode) or the whole segment. */
const segmentKeys = (p: DenseBackwardParams, t: number): [number, number] => (p.mode === 'window' ? [Math.max(0, t - p.window), t] : [0, p.t - 1]);

/**
 * The reference backward of a call: dq, dk, dv (fresh float64 arrays) from q, k, v, dout, one segment
 * at a time; with `ds`, each visible score gradient also goes to its place in the band.
 */
function refGrads(arrays: FloatArray[], p: DenseBackwardParams, ds?: FloatArray): Float64Array[] {
  const [qs, ks] = [p.t * p.hq * p.d, p.t * p.hk * p.d];
  const g = [qs, ks, ks].map((n) => new Float64Array(n * p.segs));
  const x = { tq: p.t, tk: p.t, hq: p.hq, hk: p.hk, d: p.d, scale: p.scale ?? 1 / Math.sqrt(p.d) };
  const range = (t: number) => segmentKeys(p, t);
  const [band, ratio] = [denseDsBand(p), p.hq / p.hk];
  for (let s = 0; s < p.segs; s++) {
    const part = (a: FloatArray, n: number) => a.subarray(s * n, (s + 1) * n);
    const put = ds && ((t: number, h: number, j: number, v: number) => (ds[dsIndex(p, band, s, Math.floor(h / ratio), t * ratio + (h % ratio), t, j)] = v));
    denseAttentionBackward([qs, ks, ks, qs].map((n, i) => part(arrays[i], n)), [part(g[0], qs), part(g[1], ks), part(g[2], ks)], x, range, put || undefined);
  }
  return g;
}

/** denseAttentionDq: [q, k, v, dout, lse, delta, dq] (the CPU path recomputes from q, k, v, dout). */
export const denseAttentionDq: Kernel<DenseBackwardParams> = {
  name: 'denseAttentionDq',
  ref(a, p) {
    const [dq] = refGrads(a.slice(0, 4) as FloatArray[], p);
    a[6].set(dq);
  },
  program: (p, caps) => program(p, caps, 'dq'),
};

/** denseAttentionDkv: [q, k, v, dout, lse, delta, dk, dv]. */
export const denseAttentionDkv: Kernel<DenseBackwardParams> = {
  name: 'denseAttentionDkv',
  ref(a, p) {
    const [, dk, dv] = refGrads(a.slice(0, 4) as FloatArray[], p);
    a[6].set(dk);
    a[7].set(dv);
  },
  program: (p, caps) => program(p, caps, 'dkv'),
};

/**
 * denseAttentionDkvDs (v3): [q, k, v, dout, ld, dk, dv, ds], ld = [lse | delta] (denseAttentionLseDelta):
 * v2's dkv that also stores every visible score gradient in the band ds (denseDsBandElements; the
 * entries no row sees are left as they were).
 */
export const denseAttentionDkvDs: Kernel<DenseBackwardParams> = {
  name: 'denseAttentionDkvDs',
  ref(a, p) {
    const [, dk, dv] = refGrads(a.slice(0, 4) as FloatArray[], p, a[7] as FloatArray);
    a[5].set(dk);
    a[6].set(dv);
  },
  program: (p, caps) => program({ ...p, version: 'v3' }, caps, 'dkv', true),
};

/** denseAttentionDqFromDs (v3): [ds, k, dq]: dq = Σ dS·k over the keys each row sees, dS from the band. */
export const denseAttentionDqFromDs: Kernel<DenseBackwardParams> = {
  name: 'denseAttentionDqFromDs',
  ref([ds, k, dq], p) {
    const [ratio, band, D] = [p.hq / p.hk, denseDsBand(p), p.d];
    dq.fill(0);
    for (let s = 0; s < p.segs; s++) {
      for (let t = 0; t < p.t; t++) {
        const [lo, hi] = segmentKeys(p, t);
        for (let h = 0; h < p.hq; h++) {
          const g = Math.floor(h / ratio);
          const acc = new Float64Array(D);
          for (let j = lo; j <= hi; j++) {
            const w = ds[dsIndex(p, band, s, g, t * ratio + (h % ratio), t, j)];
            const ko = ((s * p.t + j) * p.hk + g) * D;
            for (let e = 0; e < D; e++) acc[e] += w * k[ko + e];
          }
          dq.set(acc, ((s * p.t + t) * p.hq + h) * D);
        }
      }
    }
  },
  program(p, caps) {
    const tile = dqFromDs(p, caps);
    if (!tile) throw new ArgumentError(`attention backward: v3 does not apply to head size ${p.d} on this device (D ≤ 128)`);
    const rows = p.t * headRatio('attentionBackward', p.hq, p.hk);
    const header = `${U.wgsl('U')}\n${wgslBindings(DQ_DS_BUFFERS, 'U')}`;
    return {
      key: `denseAttentionDqFromDs:${p.mode}:${tile.BR}x${tile.KT}:${tile.NR}x${tile.G}:d${p.d}${tile.prefetch ? ':pf' : ''}${tile.tileMajor ? ':tm' : ''}`,
      code: () => denseDqFromDsWgsl(tile, header),
      buffers: DQ_DS_BUFFERS,
      ...launch(p, caps, Math.ceil(rows / tile.BR)),
    };
  },
};

const DELTA_U = defineUniforms({ rows: 'u32', n: 'u32' });
const DELTA_BUFFERS: BufferBinding[] = [{ name: 'out', ...R }, { name: 'dout', ...R }, { name: 'delta', ...W }];
const DELTA_WG = 256;

/**
 * Row i < n: s = Σ out·dout over the row's d elements, then `store` (WGSL using i, s). threadsPerRow(d)
 * invocations a row (16 for d 64), so a warp reads whole rows (a thread a row read 32 rows 256 bytes
 * apart); their partial sums meet in a segmented tree.
 */
function rowDotProgram(key: string, bufs: BufferBinding[], store: string, p: { n: number; d: number }, caps: DeviceCaps): Program {
  const tpr = threadsPerRow(p.d, DELTA_WG);
  return {
    key: `${key}:${tpr}`,
    code: () => /* wgsl */ `
${DELTA_U.wgsl('U')}
${wgslBindings(bufs, 'U')}
${wgslWorkgroupReduce('row_sum', DELTA_WG, 'sum', tpr)}
@compute @workgroup_size(${DELTA_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  ${wgslRowIndex(tpr, DELTA_WG)}
  var part = 0.0;
  for (var j = lane; j < n; j += ${tpr}u) { part += out[base + j] * dout[base + j]; }
  let s = row_sum(lid, part);
  if (valid && lane == 0u) {
    let i = row;
${store}
  }
}`,
    buffers: bufs,
    uniforms: DELTA_U.pack({ rows: p.n, n: p.d }),
    workgroups: p.n === 0 ? [0, 1, 1] : grid(Math.ceil(p.n / (DELTA_WG / tpr)), caps),
  };
}

/** denseAttentionDelta: [out, dout, delta], rows n of length d: delta[i] = Σ out·dout. */
export const denseAttentionDelta: Kernel<{ n: number; d: number }> = {
  name: 'denseAttentionDelta',
  ref([out, dout, delta], p) {
    for (let i = 0; i < p.n; i++) {
      let s = 0;
      for (let j = 0; j < p.d; j++) s += out[i * p.d + j] * dout[i * p.d + j];
      delta[i] = s;
    }
  },
  program: (p, caps) => rowDotProgram('denseAttentionDelta', DELTA_BUFFERS, '    delta[i] = s;', p, caps),
};

const LD_BUFFERS: BufferBinding[] = [{ name: 'out', ...R }, { name: 'dout', ...R }, { name: 'lse', ...R }, { name: 'ld', ...W }];

/** denseAttentionLseDelta: [out, dout, lse, ld], rows n of length d: ld = [lse | delta] (v3's one binding). */
export const denseAttentionLseDelta: Kernel<{ n: number; d: number }> = {
  name: 'denseAttentionLseDelta',
  ref([out, dout, lse, ld], p) {
    ld.set(lse.subarray(0, p.n));
    denseAttentionDelta.ref([out, dout, ld.subarray(p.n, 2 * p.n)], p);
  },
  program: (p, caps) => rowDotProgram('denseAttentionLseDelta', LD_BUFFERS, '    ld[i] = lse[i];\n    ld[u.rows + i] = s;', p, caps),
};
