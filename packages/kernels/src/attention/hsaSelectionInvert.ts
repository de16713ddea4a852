/**
 * Inverting the HSA selection on the GPU (for the chunk-attention backward): the slots (t, g, j) of
 * idx/w [T, Hk, k] with w ≠ 0 and a stored chunk c get the bucket key c·Hk + g (others the sentinel
 * B = chunks·Hk), then an LSD radix sort over 8-bit digits, each pass the stable counting sort of
 * moeDispatch (moeCount / moeScan / moeScatter with 256 buckets), gives the slots ordered by
 * (bucket, slot index); bucket b's slots are order[starts[b] .. starts[b+1]).
 *   hsaSlotKeys:     [idx, w, key]                key[e] = c·Hk + g, or B
 *   hsaRadixDigits:  [key, order, digits]         digits[i] = (key[order[i]] >> shift) & 255
 *   hsaRadixCompose: [order, perm, next]          next[i] = order[perm[i]] (order = identity first)
 *   hsaBucketStarts: [key, order, starts]         starts[b] = #{i : key[order[i]] < b}, b ≤ B
 * Deterministic: integer counts, stable placement, no atomics. v1.
 */
import { elementwiseGrid, elementwiseWgsl } from '../core/elementwise.js';
import type { BufferBinding, Kernel, Program } from '../core/program.js';
import { wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';

export interface InvertParams {
  /** slots A = T·Hk·k */
  n: number;
  hk: number;
  k: number;
  chunks: number;
  /** bit shift of the digit pass (hsaRadixDigits) */
  shift?: number;
  /** the previous order is the identity (first pass) */
  first?: boolean;
}

const U = defineUniforms({ n: 'u32', hk: 'u32', k: 'u32', chunks: 'u32', shift: 'u32', first: 'u32', nb: 'u32', slots: 'u32' });
const b = (name: string, type: 'i32' | 'u32' | 'f32', out = false): BufferBinding => ({ name, access: out ? 'read_write' : 'read', type });

/** Radix passes needed for keys 0 … B (8 bits each, at least one). */
export const radixPasses = (p: Pick<InvertParams, 'hk' | 'chunks'>): number => Math.max(1, Math.ceil(Math.log2(p.chunks * p.hk + 1) / 8));

function elementwise(key: string, bufs: BufferBinding[], body: string, n: (p: InvertParams) => number): Kernel<InvertParams>['program'] {
  return (p, caps): Program => ({
    key,
    code: () => elementwiseWgsl(`${U.wgsl('U')}\n${wgslBindings(bufs, 'U')}`, body),
    buffers: bufs,
    uniforms: U.pack({ n: n(p), hk: p.hk, k: p.k, chunks: p.chunks, shift: p.shift ?? 0, first: p.first ? 1 : 0, nb: p.chunks * p.hk, slots: p.n }),
    workgroups: elementwiseGrid(n(p), caps),
  });
}

const slotKey = (c: number, w: number, e: number, p: InvertParams): number =>
  w !== 0 && c >= 0 && c < p.chunks ? c * p.hk + (Math.floor(e / p.k) % p.hk) : p.chunks * p.hk;

export const hsaSlotKeys: Kernel<InvertParams> = {
  name: 'hsaSlotKeys',
  ref([idx, w, key], p) {
    for (let e = 0; e < p.n; e++) key[e] = slotKey(idx[e], w[e], e, p);
  },
  program: elementwise(
    'hsaSlotKeys',
    [b('idx', 'i32'), b('w', 'f32'), b('key', 'i32', true)],
    '  let c = idx[i];\n  let ok = w[i] != 0.0 && c >= 0 && c < i32(u.chunks);\n  key[i] = select(i32(u.nb), c * i32(u.hk) + i32((i / u.k) % u.hk), ok);',
    (p) => p.n,
  ),
};

export const hsaRadixDigits: Kernel<InvertParams> = {
  name: 'hsaRadixDigits',
  ref([key, order, digits], p) {
    for (let i = 0; i < p.n; i++) digits[i] = (key[p.first ? i : order[i]] >>> (p.shift ?? 0)) & 255;
  },
  program: elementwise(
    'hsaRadixDigits',
    [b('key', 'i32'), b('order', 'u32'), b('digits', 'i32', true)],
    '  let e = select(min(order[i], u.n - 1u), i, u.first != 0u);\n  digits[i] = i32((u32(key[e]) >> u.shift) & 255u);',
    (p) => p.n,
  ),
};

export const hsaRadixCompose: Kernel<InvertParams> = {
  name: 'hsaRadixCompose',
  ref([order, perm, next], p) {
    for (let i = 0; i < p.n; i++) next[i] = p.first ? perm[i] : order[perm[i]];
  },
  program: elementwise(
    'hsaRadixCompose',
    [b('order', 'u32'), b('perm', 'u32'), b('next', 'u32', true)],
    '  let a = min(perm[i], u.n - 1u);\n  next[i] = select(order[a], a, u.first != 0u);',
    (p) => p.n,
  ),
};

export const hsaBucketStarts: Kernel<InvertParams> = {
  name: 'hsaBucketStarts',
  ref([key, order, starts], p) {
    const nb = p.chunks * p.hk;
    for (let bk = 0; bk <= nb; bk++) {
      let [lo, hi] = [0, p.n];
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (key[order[mid]] < bk) lo = mid + 1;
        else hi = mid;
      }
      starts[bk] = lo;
    }
  },
  program: elementwise(
    'hsaBucketStarts',
    [b('key', 'i32'), b('order', 'u32'), b('starts', 'u32', true)],
    `  var lo = 0u; var hi = u.slots;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (key[min(order[mid], u.slots - 1u)] < i32(i)) { lo = mid + 1u; } else { hi = mid; }
  }
  starts[i] = lo;`,
    (p) => p.chunks * p.hk + 1,
  ),
};
