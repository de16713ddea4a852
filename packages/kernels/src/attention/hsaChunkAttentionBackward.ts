/**
 * HSA chunk-attention backward kernels (math: hsaChunkAttentionBackward.ref.ts), f32 memory:
 *   hsaChunkAttentionDq:  [q, memK, memV, idx, w, dout, dq, dw, slotLse, slotDw]: dq and dw per
 *                         (token, KV head); saves each (t, h, j)'s softmax log-sum-exp and dout·Ō_j
 *   hsaChunkAttentionDkv: [q, memK, memV, w, dout, slotLse, slotDw, order, starts, dK, dV]: per
 *                         (chunk, KV head, key tile) over the slots that selected the chunk, in slot
 *                         order (hsaSelectionInvert.ts): deterministic, no atomics, no lost updates
 * Slots with w = 0 get dw but add nothing to dq, dK, dV; indices outside [0, chunks) are skipped.
 * v1 (hsaChunkAttentionBackward.wgsl.ts): f32 memory. Portable: 256 invocations, ≤ 32 KiB workgroup memory.
 * v2 (`variant: 'mma'`, hsaChunkAttentionBackwardMma.wgsl.ts): the same on f16 subgroup matrices
 * (tensor cores) over f16 memory (and f16 copies of q and dout for dK/dV), where
 * chunkBackwardMmaUnsupported allows it.
 */
import type { FloatArray } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import { type BufferBinding, type DeviceCaps, grid, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { headRatio } from './common.js';
import { CHUNK_MAX_D, CHUNK_MAX_S, chunkMmaUnsupported } from './hsaChunkAttention.js';
import type { HsaChunkAttentionParams } from './hsaChunkAttention.ref.js';
import { hsaChunkAttentionBackwardRef } from './hsaChunkAttentionBackward.ref.js';
import {
  CHUNK_BACK_MAX_K,
  CHUNK_BACK_WG,
  type ChunkDkvTile,
  type ChunkDqTile,
  chunkDkvWgsl,
  chunkDkvWords,
  chunkDqWgsl,
  chunkDqWords,
} from './hsaChunkAttentionBackward.wgsl.js';
import { chunkDkvMmaWgsl, chunkDqMmaWgsl, DKV_KEYS, DQ_MMA_MAX_K, dkvMmaBytes, dqMmaBytes } from './hsaChunkAttentionBackwardMma.wgsl.js';
import { MMA_ROWS } from './hsaChunkAttentionMma.wgsl.js';

/** v1 (f32 memory, CUDA-core tiles) or v2 `mma` (f16 memory on subgroup matrices). */
export interface HsaChunkAttentionBackwardParams extends HsaChunkAttentionParams {
  variant?: 'f32' | 'mma';
  /** mma: the f32 sums in workgroup memory or in each subgroup's matrices (default) */
  mmaAcc?: 'workgroup' | 'registers';
}

const U = defineUniforms({
  hq: 'u32',
  hk: 'u32',
  ratio: 'u32',
  hblocks: 'u32',
  k: 'u32',
  chunks: 'u32',
  ktiles: 'u32',
  nslots: 'u32',
  nwg: 'u32',
  smN: 'f32',
  scale: 'f32',
});

const f = (name: string, out = false): BufferBinding => ({ name, access: out ? 'read_write' : 'read', type: 'f32' });
const u = (name: string): BufferBinding => ({ name, access: 'read', type: 'u32' });
const DQ_BUFFERS = [f('q'), f('memK'), f('memV'), { name: 'idx', access: 'read', type: 'i32' } as const, f('w'), f('dout')];
DQ_BUFFERS.push(f('dq', true), f('dw', true), f('slotLse', true), f('slotDw', true));
const DKV_BUFFERS = [f('q'), f('memK'), f('memV'), f('w'), f('dout'), f('slotLse'), f('slotDw'), u('order'), u('starts'), f('dK', true), f('dV', true)];
// v2: the matrix loads read f16 storage (memory; for dK/dV also q and dout)
const h = (b: BufferBinding): BufferBinding => ({ ...b, type: 'f16' });
const DQ_MMA_BUFFERS = DQ_BUFFERS.map((b) => (b.name === 'memK' || b.name === 'memV' ? h(b) : b));
const DKV_MMA_BUFFERS = DKV_BUFFERS.map((b) => (['q', 'memK', 'memV', 'dout'].includes(b.name) ? h(b) : b));

/**
 * Why the backward's `mma` variant cannot run for head size d, chunk size s, head ratio and k on this
 * device, or null: the forward's mma requirements, 16 query heads a KV head's row tiles (ratio a
 * multiple of 16), k ≤ DQ_MMA_MAX_K (128) and the workgroup memory of both kernels.
 */
export function chunkBackwardMmaUnsupported(caps: DeviceCaps, d: number, s: number, ratio: number, k: number): string | null {
  const why = chunkMmaUnsupported(caps, d, s);
  if (why) return why;
  if (ratio % MMA_ROWS !== 0) return `${ratio} query heads a KV head are not a multiple of ${MMA_ROWS}`;
  if (k > DQ_MMA_MAX_K) return `k = ${k} is over ${DQ_MMA_MAX_K}`;
  const bytes = Math.max(dqMmaBytes(d, s), dkvMmaBytes(d, true));
  if (bytes > caps.maxWorkgroupStorage) return `needs ${bytes} bytes of workgroup memory, the device has ${caps.maxWorkgroupStorage}`;
  return null;
}

function mmaCheck(p: HsaChunkAttentionBackwardParams, caps: DeviceCaps, ratio: number): boolean {
  if (p.variant !== 'mma') return false;
  const why = chunkBackwardMmaUnsupported(caps, p.d, p.s, ratio, p.k);
  if (why) throw new ArgumentError(`hsaChunkAttentionBackward: the mma variant cannot run here (${why})`);
  return true;
}

function fits(words: number, caps: DeviceCaps, tile: object): void {
  if (words * 4 > caps.maxWorkgroupStorage || caps.maxInvocations < CHUNK_BACK_WG) {
    throw new ArgumentError(`hsaChunkAttentionBackward: tile ${JSON.stringify(tile)} does not fit this device's workgroup limits`);
  }
}

function check(p: HsaChunkAttentionParams): number {
  if (p.d > CHUNK_MAX_D || p.s > CHUNK_MAX_S) {
    throw new ArgumentError(`hsaChunkAttentionBackward: head size ${p.d} / chunk size ${p.s} over the compiled maximum ${CHUNK_MAX_D} / ${CHUNK_MAX_S}`);
  }
  if (p.k > CHUNK_BACK_MAX_K) throw new ArgumentError(`hsaChunkAttentionBackward: k = ${p.k} is over the compiled maximum ${CHUNK_BACK_MAX_K}`);
  return headRatio('hsaChunkAttentionBackward', p.hq, p.hk);
}

/** Heads per workgroup of the dq kernel: as many as fit next to the S-long probability rows. */
export function chunkDqTile(ratio: number, d: number, s: number): ChunkDqTile {
  const KT = Math.min(s, d > 128 ? 8 : 16);
  const room = Math.floor((8000 - KT * (d + 1) - CHUNK_BACK_MAX_K - CHUNK_BACK_WG) / (2 * d + 2 * s + 1));
  return { HB: Math.max(1, Math.min(ratio, 16, room)), KT, D: d, S: s };
}

const uniforms = (p: HsaChunkAttentionParams, ratio: number, hblocks: number, ktiles: number, nwg: number) =>
  U.pack({
    hq: p.hq,
    hk: p.hk,
    ratio,
    hblocks,
    k: p.k,
    chunks: p.chunks,
    ktiles,
    nslots: p.t * p.hk * p.k,
    nwg,
    smN: p.smN ?? 0,
    scale: p.scale ?? 1 / Math.sqrt(p.d),
  });

/** Runs the reference backward into fresh arrays: [dq, dK, dV, dw]. */
function refGrads(q: FloatArray, mk: FloatArray, mv: FloatArray, idx: Int32Array, w: FloatArray, dout: FloatArray, p: HsaChunkAttentionParams) {
  const g = [q.length, mk.length, mv.length, w.length].map((n) => new Float64Array(n));
  hsaChunkAttentionBackwardRef([q, mk, mv, idx, w, dout, g[0], g[1], g[2], g[3]], p);
  return g;
}

export const hsaChunkAttentionDq: Kernel<HsaChunkAttentionBackwardParams> = {
  name: 'hsaChunkAttentionDq',
  // CPU: the reference; slotLse / slotDw are the GPU's intermediates (the CPU dK/dV recomputes)
  ref(a, p) {
    const [q, mk, mv, idx, w, dout, dq, dw, lse, sdw] = a as FloatArray[];
    const [gq, , , gw] = refGrads(q, mk, mv, idx as unknown as Int32Array, w, dout, p);
    dq.set(gq);
    dw.set(gw);
    lse.fill(0);
    sdw.fill(0);
  },
  program(p, caps) {
    const ratio = check(p);
    const nwg = p.t * p.hk;
    const workgroups: [number, number, number] = nwg === 0 ? [0, 1, 1] : grid(nwg, caps);
    if (mmaCheck(p, caps, ratio)) {
      const sg = caps.subgroupMaxSize ?? 32;
      return {
        key: `hsaChunkAttentionDq:mma${sg}${p.mmaAcc === 'workgroup' ? 'w' : ''}:d${p.d}:s${p.s}`,
        code: () => chunkDqMmaWgsl({ D: p.d, S: p.s, SG: sg, regAcc: p.mmaAcc !== 'workgroup' }, `${U.wgsl('U')}\n${wgslBindings(DQ_MMA_BUFFERS, 'U')}`),
        buffers: DQ_MMA_BUFFERS,
        uniforms: uniforms(p, ratio, ratio / MMA_ROWS, 1, nwg),
        workgroups,
      };
    }
    const tile = chunkDqTile(ratio, p.d, p.s);
    fits(chunkDqWords(tile), caps, tile);
    const hblocks = Math.ceil(ratio / tile.HB);
    return {
      key: `hsaChunkAttentionDq:${tile.HB}x${tile.KT}:d${p.d}:s${p.s}`,
      code: () => chunkDqWgsl(tile, `${U.wgsl('U')}\n${wgslBindings(DQ_BUFFERS, 'U')}`),
      buffers: DQ_BUFFERS,
      uniforms: uniforms(p, ratio, hblocks, 1, nwg),
      workgroups,
    };
  },
};

/** Key tile of the dK/dV kernel for a head size and chunk size. */
export function chunkDkvTile(d: number, s: number): ChunkDkvTile {
  const [QR, BK] = d <= 64 ? [16, 16] : d <= 128 ? [16, 8] : [8, 4];
  return { QR, BK: Math.min(BK, s), D: d, S: s };
}

export const hsaChunkAttentionDkv: Kernel<HsaChunkAttentionBackwardParams> = {
  name: 'hsaChunkAttentionDkv',
  // CPU: the chunk of each listed slot is its bucket's; unlisted slots (w = 0, bad index) add nothing
  ref(a, p) {
    const [q, mk, mv, w, dout, , , order, starts, dK, dV] = a as FloatArray[];
    const idx = new Int32Array(w.length);
    const wl = new Float64Array(w.length);
    for (let b = 0; b < p.chunks * p.hk; b++) {
      for (let i = starts[b]; i < starts[b + 1]; i++) {
        idx[order[i]] = Math.floor(b / p.hk);
        wl[order[i]] = w[order[i]];
      }
    }
    const [, gk, gv] = refGrads(q, mk, mv, idx, wl, dout, p);
    dK.set(gk);
    dV.set(gv);
  },
  program(p, caps) {
    const ratio = check(p);
    if (mmaCheck(p, caps, ratio)) {
      const sg = caps.subgroupMaxSize ?? 32;
      const nwg = (p.chunks * p.hk * p.s) / DKV_KEYS;
      const bytes = dkvMmaBytes(p.d, p.mmaAcc !== 'workgroup');
      if (bytes > caps.maxWorkgroupStorage) throw new ArgumentError(`hsaChunkAttentionDkv: its sums in workgroup memory need ${bytes} bytes, the device has ${caps.maxWorkgroupStorage}`);
      return {
        key: `hsaChunkAttentionDkv:mma${sg}${p.mmaAcc === 'workgroup' ? 'w' : ''}:d${p.d}:s${p.s}`,
        code: () => chunkDkvMmaWgsl({ D: p.d, S: p.s, SG: sg, regAcc: p.mmaAcc !== 'workgroup' }, `${U.wgsl('U')}\n${wgslBindings(DKV_MMA_BUFFERS, 'U')}`),
        buffers: DKV_MMA_BUFFERS,
        uniforms: uniforms(p, ratio, 1, p.s / DKV_KEYS, nwg),
        workgroups: nwg === 0 ? [0, 1, 1] : grid(nwg, caps),
      };
    }
    const tile = chunkDkvTile(p.d, p.s);
    fits(chunkDkvWords(tile), caps, tile);
    const ktiles = Math.ceil(p.s / tile.BK);
    const nwg = p.chunks * p.hk * ktiles;
    return {
      key: `hsaChunkAttentionDkv:${tile.QR}x${tile.BK}:d${p.d}:s${p.s}`,
      code: () => chunkDkvWgsl(tile, `${U.wgsl('U')}\n${wgslBindings(DKV_BUFFERS, 'U')}`),
      buffers: DKV_BUFFERS,
      uniforms: uniforms(p, ratio, 1, ktiles, nwg),
      workgroups: nwg === 0 ? [0, 1, 1] : grid(nwg, caps),
    };
  },
};
