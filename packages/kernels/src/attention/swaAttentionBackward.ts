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
 * Portable: 256 invocations, ≤ 32 KiB workgroup memory, head size ≤ 256 (compiled in).
 */
import type { FloatArray } from '../core/dtype.js';
import { elementwiseGrid, elementwiseWgsl } from '../core/elementwise.js';
import { ArgumentError } from '../core/errors.js';
import { type BufferBinding, type DeviceCaps, grid, type Kernel, type Program, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { chunkEncoderAttentionBackwardRef } from './chunkEncoderAttention.ref.js';
import { headRatio } from './common.js';
import { DENSE_BACK_WG, type DenseBackTile, denseBackWords, denseDkvWgsl, denseDqWgsl } from './swaAttentionBackward.wgsl.js';
import { type DenseBackShapeV2, type DenseBackTileV2, denseBackShapeV2, denseBackShapeV2Invalid, denseBackShapeV2Large, denseBackV2Words, denseDkvV2Wgsl, denseDqV2Wgsl } from './swaAttentionBackwardV2.wgsl.js';
import { swaAttentionBackwardRef } from './swaAttention.ref.js';

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
}

/** Backward kernel version ('v2' throws where it does not apply: D > 128, device limits). */
export type DenseBackwardVersion = 'auto' | 'v1' | 'v2';

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
});

const R = { access: 'read', type: 'f32' } as const;
const W = { access: 'read_write', type: 'f32' } as const;
const INS: BufferBinding[] = ['q', 'k', 'v', 'dout', 'lse', 'delta'].map((name) => ({ name, ...R }));
const DQ_BUFFERS: BufferBinding[] = [...INS, { name: 'dq', ...W }];
const DKV_BUFFERS: BufferBinding[] = [...INS, { name: 'dk', ...W }, { name: 'dv', ...W }];

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
  if (p.version === 'v2' && !v2) throw new ArgumentError(`attention backward: v2 does not apply to head size ${p.d} on this device (D ≤ 128)`);
  if (v2) return { v2, v1: null, per: which === 'dq' ? v2.BR : v2.KT };
  const v1 = denseBackTile(p.d, p.mode, caps);
  return { v2: null, v1, per: which === 'dq' ? v1.QR : v1.BK };
}

function program(p: DenseBackwardParams, caps: DeviceCaps, which: 'dq' | 'dkv'): Program {
  const ratio = headRatio('attentionBackward', p.hq, p.hk);
  const { v1, v2, per } = chooseTile(p, caps, which);
  const tiles = which === 'dq' ? Math.ceil((p.t * ratio) / per) : Math.ceil(p.t / per);
  const nwg = p.segs * p.hk * tiles;
  const bufs = which === 'dq' ? DQ_BUFFERS : DKV_BUFFERS;
  const header = `${U.wgsl('U')}\n${wgslBindings(bufs, 'U')}`;
  const tq = p.segs * p.t;
  const key = v2 ? `denseAttention${which}V2:${p.mode}:${v2.BR}x${v2.KT}:${v2.R}x${v2.C}:${v2.N}x${v2.G}:d${p.d}` : `denseAttention${which}:${p.mode}:${v1.QR}x${v1.BK}:d${p.d}`;
  const code = () => {
    if (v2) return which === 'dq' ? denseDqV2Wgsl(v2, header) : denseDkvV2Wgsl(v2, header);
    return which === 'dq' ? denseDqWgsl(v1, header) : denseDkvWgsl(v1, header);
  };
  return {
    key,
    code,
    buffers: bufs,
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
    }),
    workgroups: nwg === 0 ? [0, 1, 1] : grid(nwg, caps),
  };
}

/** The reference backward of a call: dq, dk, dv (fresh float64 arrays) from q, k, v, dout. */
function refGrads([q, k, v, dout]: FloatArray[], p: DenseBackwardParams): Float64Array[] {
  const g = [q.length, k.length, k.length].map((n) => new Float64Array(n));
  const arrays = [q, k, v, dout, ...g];
  if (p.mode === 'window') swaAttentionBackwardRef(arrays, { t: p.segs * p.t, hq: p.hq, hk: p.hk, d: p.d, window: p.window, scale: p.scale, segLen: p.t });
  else chunkEncoderAttentionBackwardRef(arrays, { n: p.segs, t: p.t, hq: p.hq, hk: p.hk, d: p.d, scale: p.scale });
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

const DELTA_U = defineUniforms({ n: 'u32', d: 'u32' });
const DELTA_BUFFERS: BufferBinding[] = [{ name: 'out', ...R }, { name: 'dout', ...R }, { name: 'delta', ...W }];

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
  program: (p, caps) => ({
    key: 'denseAttentionDelta',
    code: () =>
      elementwiseWgsl(
        `${DELTA_U.wgsl('U')}\n${wgslBindings(DELTA_BUFFERS, 'U')}`,
        '  var s = 0.0;\n  for (var j = 0u; j < u.d; j++) { s += out[i * u.d + j] * dout[i * u.d + j]; }\n  delta[i] = s;',
      ),
    buffers: DELTA_BUFFERS,
    uniforms: DELTA_U.pack(p),
    workgroups: elementwiseGrid(p.n, caps),
  }),
};
