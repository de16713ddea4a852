/**
 * hsaChunkAttentionForward: HSA chunk attention (hsaChunkAttention.ref.ts) on the GPU, prefill and
 * decode (T = 1) alike, any Hq:Hk ratio, K/V memory in f32 or packed bf16/f16.
 * The memory may be given in parts (each ≤ one binding): a dispatch binds as many parts as the
 * device's storage buffers allow (`np`), chunk range [c0, c0 + cn), the first dispatch writing `out`,
 * the next adding to it (a fixed order: deterministic). On the H200 at 16M tokens (5 parts, one
 * dispatch) the step's chunk attention takes 2.6× less time than with one dispatch a part.
 * Indices outside [0, chunks) are skipped on the GPU (never read out of bounds); the CPU backend
 * (the reference) throws an ArgumentError for them.
 * v1: a workgroup per (token, KV head, block of ≤ 16 query heads), 16-key tiles in workgroup memory;
 * v2: each chunk's softmax split over all 256 invocations (G per head row, tree reductions), where
 * v1 ran it serially on one invocation per head (3 × S dependent steps a chunk).
 * v3 `head` variant (decode, T = 1 by default): a workgroup per (token, query head, slot), each key's
 * dot product split over several invocations and read straight from the memory: Hq/Hk times the
 * workgroups and a fraction of the serial steps of the tile variant, which stages K/V tiles once for
 * up to 16 heads (better when many tokens share the reads). Issuing all of an invocation's loads
 * ahead of its multiply-adds (fully unrolled) measured the same as the loop of four partial sums on
 * the H200 and was dropped.
 * v4 `mma` variant (prefill, where the device offers f16 subgroup matrices): the tile variant's
 * work on matrix units, 16 query heads a workgroup (hsaChunkAttentionMma.wgsl.ts); Q, K, V and the
 * probabilities in f16, sums in f32.
 * v5 `decode` variant (decode, T = 1 by default): the head variant's workgroups (token, query head,
 * js) over the slots js, js + jsplit, …, K/V read as coalesced 16-byte words, all of a slot group's
 * loads in flight (hsaChunkAttentionDecode.wgsl.ts); needs D a multiple of 8 (f16/bf16) or 4 (f32).
 * v6 (`merge`, the decode variant with subgroups): each workgroup first runs the retrieval's merge
 * over the scan's candidate lists (sgMergeRow, hsaSelectSubgroup.wgsl.ts) and reads its slots from
 * workgroup memory, so a decode step has no merge dispatch (hsaDecodeStep); a slot's softmax reduces
 * and a row's dot by subgroup shuffles. H200, 1M tokens: 13.1 µs against 9.8 µs + a 6.6 µs merge dispatch.
 */
import { type FloatArray, unpackHalf } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import { type BufferBinding, type DeviceCaps, grid, type Kernel, WGSL_SUBGROUPS, type WgslScalar, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { headRatio, weightedSum } from './common.js';
import type { FusionMode } from './hsaFusion.ref.js';
import { CHUNK_WG, type ChunkTile, chunkWords, hsaChunkAttentionHeadWgsl, hsaChunkAttentionWgsl } from './hsaChunkAttention.wgsl.js';
import { checkChunkAttention, chunkProbs, type HsaChunkAttentionParams } from './hsaChunkAttention.ref.js';
import { DECODE_WG, decodeBytes, decodeUnsupported, hsaChunkAttentionDecodeWgsl } from './hsaChunkAttentionDecode.wgsl.js';
import { hsaChunkAttentionMmaWgsl, MMA_ROWS, MMA_SUBGROUPS, mmaBytes, mmaDirect } from './hsaChunkAttentionMma.wgsl.js';
import { hsaSelect, SLOT_RULES, slotRuleUniforms } from './hsaSelect.js';
import { SG_MERGE_MAX, sgListLength, sgMergeFns, sgTopkUnsupported } from './hsaSelectSubgroup.wgsl.js';

export interface HsaChunkAttentionGpuParams extends HsaChunkAttentionParams {
  /** storage type of memK/memV (default f32) */
  kv?: ChunkTile['kv'];
  /** first chunk of the bound memory part (default 0) */
  c0?: number;
  /** chunks in the bound part (default `chunks`) */
  cn?: number;
  /** add to `out` instead of overwriting it (parts after the first) */
  accumulate?: boolean;
  /** workgroups per (token, head block) over the slots; each writes plane plane0 + (j mod jsplit) */
  jsplit?: number;
  plane0?: number;
  /**
   * `tile` (v1/v2: ≤ 16 heads a workgroup, K/V tiles staged), `head` (v3: one head a workgroup) or
   * `mma` (v4: the tile variant on f16 subgroup matrices; see chunkMmaUnsupported) or `decode` (v5:
   * the head variant over 16-byte words; see decodeUnsupported)
   */
  variant?: 'tile' | 'head' | 'mma' | 'decode';
  /**
   * decode variant only (v6): the retrieval's merge in the kernel, from the scan's candidate lists;
   * arguments [q, memK…, memV…, candS, candI, idx, w, sel, out] (idx, w, sel written, see writeSel)
   */
  merge?: ChunkMergeParams;
  /**
   * memory parts bound at once (default 1): arguments [q, memK0 … memK{np−1}, memV0 … memV{np−1}, idx,
   * w, out]; every part but the last holds `perPart` chunks, chunks c0 … c0+cn−1 in all
   */
  np?: number;
  perPart?: number;
}

/** Storage buffers one dispatch binds besides the memory parts (q, idx, w, out). */
export const CHUNK_FIXED_BUFFERS = 4;
/** Buffers besides the memory parts of the decode variant with the merge in it (q, candS, candI, idx, w, sel, out). */
export const CHUNK_FIXED_BUFFERS_MERGE = 7;

/**
 * The retrieval's merge run inside the decode variant (v6, `merge`): hsaSelect's merge-pass fields for
 * the scan's candidate lists candS / candI [T·Hr, nb, k] (k: the attention's slots, k_eff). Subgroup
 * top-k (v5) only: the device needs one subgroup size holding a list of sgListLength(k).
 */
export interface ChunkMergeParams {
  /** the scan's chunks a block: ceil(chunks / blockLen) candidate lists a row */
  blockLen: number;
  /** retrieval heads: 1 or hk */
  hr: number;
  posOffset: number;
  /** tokens a packed sequence (0: one sequence) */
  segLen?: number;
  maskWindow?: number;
  mode: FusionMode;
  posDecay?: number;
  /** this dispatch writes idx, w [T, Hk, k] and sel [T, Hr, k] (the first of a step's dispatches) */
  writeSel: boolean;
}

export const CHUNK_MAX_D = 256;
export const CHUNK_MAX_S = 512;

const U_SPEC = {
  hq: 'u32',
  hk: 'u32',
  ratio: 'u32',
  hblocks: 'u32',
  k: 'u32',
  c0: 'u32',
  cn: 'u32',
  accumulate: 'u32',
  nwg: 'u32',
  jsplit: 'u32',
  plane0: 'u32',
  planeSize: 'u32',
  perPart: 'u32',
  smN: 'f32',
  scale: 'f32',
} as const;
const U = defineUniforms(U_SPEC);
/** The decode variant with the merge in it: U's fields and the merge's (hsaSelect's names). */
const UM = defineUniforms({
  ...U_SPEC,
  ncand: 'u32',
  hr: 'u32',
  posOffset: 'u32',
  s: 'u32',
  segLen: 'u32',
  maskOn: 'u32',
  maskWindow: 'u32',
  stick: 'u32',
  posDecay: 'f32',
  writeSel: 'u32',
});

/** The decode variant with the merge in it: q, the memory parts, the scan's candidates, the retrieval's outputs, out. */
function mergeBuffers(kv: ChunkTile['kv'], np: number): BufferBinding[] {
  const [q, ...rest] = buffers(kv, np);
  const mem = rest.slice(0, 2 * np);
  return [
    q,
    ...mem,
    { name: 'candS', access: 'read', type: 'f32' },
    { name: 'candI', access: 'read', type: 'u32' },
    { name: 'idx', access: 'read_write', type: 'i32' },
    { name: 'w', access: 'read_write', type: 'f32' },
    { name: 'sel', access: 'read_write', type: 'f32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ];
}

/** direct: the mma variant's matrix loads read f16 memory as array<f16> (mmaDirect). */
function buffers(kv: ChunkTile['kv'], np: number, direct = false): BufferBinding[] {
  const m: WgslScalar = kv === 'f32' ? 'f32' : direct ? 'f16' : 'u32';
  const mem = (x: 'K' | 'V'): BufferBinding[] =>
    Array.from({ length: np }, (_, i) => ({ name: np === 1 ? `mem${x}` : `mem${x}${i}`, access: 'read', type: m }));
  return [
    { name: 'q', access: 'read', type: 'f32' },
    ...mem('K'),
    ...mem('V'),
    { name: 'idx', access: 'read', type: 'i32' },
    { name: 'w', access: 'read', type: 'f32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ];
}

/**
 * Why the `mma` variant cannot run on this device for head size d and chunk size s, or null when it
 * can: it needs shader-f16, the f16 → f32 16×16×16 subgroup-matrix configuration, one fixed
 * subgroup size, S and D multiples of 64 and its workgroup memory.
 */
export function chunkMmaUnsupported(caps: DeviceCaps, d: number, s: number): string | null {
  if (!caps.shaderF16) return 'no shader-f16';
  if (!caps.subgroups) return 'no subgroups';
  const cfg = caps.subgroupMatrix?.some((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M === 16 && c.N === 16 && c.K === 16);
  if (!cfg) return 'no f16 → f32 16×16×16 subgroup-matrix configuration';
  const sg = caps.subgroupMaxSize ?? 0;
  const wg = MMA_SUBGROUPS * sg;
  // the softmax gives each of the 16 rows wg / 16 neighbouring invocations, combined by xor shuffles:
  // a power of two (it divides the subgroup then)
  const perRow = wg / MMA_ROWS;
  if (sg !== caps.subgroupMinSize || wg > caps.maxInvocations || !Number.isInteger(Math.log2(perRow))) {
    return `subgroup size ${caps.subgroupMinSize}–${sg} not fixed or not fit for ${MMA_SUBGROUPS} subgroups of ${MMA_ROWS} rows`;
  }
  if (d % 64 !== 0 || s % 64 !== 0) return `head size ${d} and chunk size ${s} must be multiples of 64`;
  if (mmaBytes(d, s) > caps.maxWorkgroupStorage) return `needs ${mmaBytes(d, s)} bytes of workgroup memory, the device has ${caps.maxWorkgroupStorage}`;
  return null;
}

/** Heads per workgroup and key tile for a head size and chunk size. */
export function chunkTile(ratio: number, d: number, s: number, kv: ChunkTile['kv']): ChunkTile {
  if (d > CHUNK_MAX_D || s > CHUNK_MAX_S) {
    throw new ArgumentError(`hsaChunkAttention: head size ${d} / chunk size ${s} over the compiled maximum ${CHUNK_MAX_D} / ${CHUNK_MAX_S}`);
  }
  const HB = Math.max(1, Math.min(ratio, 16, Math.floor(2048 / d), Math.floor(1024 / s)));
  return { HB, KT: Math.min(s, d > 128 ? 8 : 16), D: d, S: s, kv };
}

/** Concatenates np bound parts (arguments 1 … 2np) into one K and one V argument. */
function joinParts(a: unknown[], np: number): unknown[] {
  if (np === 1) return a;
  const join = (xs: unknown[]) => {
    const arrs = xs as FloatArray[];
    const out = new (arrs[0].constructor as new (n: number) => FloatArray)(arrs.reduce((n, x) => n + x.length, 0));
    let o = 0;
    for (const x of arrs) {
      out.set(x, o);
      o += x.length;
    }
    return out;
  };
  return [a[0], join(a.slice(1, 1 + np)), join(a.slice(1 + np, 1 + 2 * np)), ...a.slice(1 + 2 * np)];
}

/**
 * Reference of the decode variant with the merge (v6): [q, memK…, memV…, candS, candI, idx, w, sel,
 * out]: hsaSelect's merge pass over the candidate lists, then the part's attention with its choice.
 */
function mergePartRef(a: unknown[], p: HsaChunkAttentionGpuParams, mg: ChunkMergeParams): void {
  const np = p.np ?? 1;
  const [candS, candI, idx, w, sel, out] = a.slice(1 + 2 * np) as FloatArray[];
  const hr = mg.hr;
  const chosen = [new Int32Array(idx.length), new Float32Array(w.length), new Float32Array(sel.length)];
  const sp = { t: p.t, chunks: p.chunks, s: p.s, hr, hk: p.hk, dr: 1, topk: p.k, mode: mg.mode, posDecay: mg.posDecay, posOffset: mg.posOffset, maskWindow: mg.maskWindow, segLen: mg.segLen, pass: 'merge' as const, blockLen: mg.blockLen };
  hsaSelect.ref?.([candS, candI, ...chosen] as never, sp);
  if (mg.writeSel) {
    for (const [i, x] of [idx, w, sel].entries()) x.set(chosen[i]);
  }
  partRef([...a.slice(0, 1 + 2 * np), chosen[0], chosen[1], out], p);
}

/** Reference for one part: [q, memK, memV, idx, w, out], memory rows of chunks c0 … c0+cn−1 only. */
function partRef(a: unknown[], p: HsaChunkAttentionGpuParams): void {
  const [q, mk, mv, idx, w, out] = joinParts(a, p.np ?? 1) as [FloatArray, FloatArray, FloatArray, Int32Array, FloatArray, FloatArray];
  const c0 = p.c0 ?? 0;
  const cn = p.cn ?? p.chunks;
  const kv = p.kv ?? 'f32';
  const toF = (x: unknown) => (kv === 'f32' ? (x as FloatArray) : unpackHalf(x as unknown as Uint16Array, kv));
  const [memK, memV] = [toF(mk), toF(mv)];
  const ratio = checkChunkAttention('hsaChunkAttention', { ...p, chunks: p.chunks }, { q, out }, {}, { idx, w });
  const part = { ...p, chunks: cn };
  const pr = new Float64Array(p.s);
  const ws = new Float64Array(p.s);
  const acc = new Float64Array(p.d);
  for (let t = 0; t < p.t; t++) {
    for (let h = 0; h < p.hq; h++) {
      const g = Math.floor(h / ratio);
      const qo = (t * p.hq + h) * p.d;
      acc.fill(0);
      const js = p.jsplit ?? 1;
      for (let plane = 0; plane < js; plane++) {
      acc.fill(0);
      for (let j = plane; j < p.k; j += js) {
        const wj = w[(t * p.hk + g) * p.k + j];
        const c = idx[(t * p.hk + g) * p.k + j] - c0;
        if (wj === 0 || c < 0 || c >= cn) continue;
        chunkProbs(q, qo, memK, c, g, part, pr);
        for (let s = 0; s < p.s; s++) ws[s] = wj * pr[s];
        weightedSum(ws, memV, 0, p.s - 1, (c * p.s * p.hk + g) * p.d, p.hk * p.d, acc, p.d);
      }
      const po = ((p.plane0 ?? 0) + plane) * p.t * p.hq * p.d + qo;
      for (let d = 0; d < p.d; d++) out[po + d] = (p.accumulate ? out[po + d] : 0) + acc[d];
      }
    }
  }
}

/** Lists the merge stages in workgroup memory for nb candidate lists: a power of two ≥ nb and ≥ the subgroups of a workgroup. */
const mergeLists = (caps: DeviceCaps, nb: number): number => Math.max(DECODE_WG / caps.subgroupMinSize, 2 ** Math.ceil(Math.log2(Math.max(nb, 1))));

/**
 * Why the decode variant cannot run the retrieval's merge (v6) on a device (null when it can): the
 * subgroup top-k's needs (sgTopkUnsupported for lists of sgListLength(k)), nb lists of it staged
 * (≤ SG_MERGE_MAX entries) and the workgroup memory of both.
 */
export function chunkMergeUnsupported(caps: DeviceCaps, c: { d: number; s: number; k: number; kv: ChunkTile['kv']; np: number; nb: number }): string | null {
  const KM = sgListLength(c.k);
  const why = sgTopkUnsupported(caps, KM) ?? decodeUnsupported(c.d, c.kv);
  if (why) return why;
  const NL = mergeLists(caps, c.nb);
  if (NL * KM > SG_MERGE_MAX) return `${c.nb} candidate lists of ${KM} are over ${SG_MERGE_MAX} entries`;
  const bytes = decodeBytes({ D: c.d, S: c.s, kv: c.kv, NP: c.np }) + 8 * (NL + 1) * KM + 16;
  if (bytes > caps.maxWorkgroupStorage) return `${bytes} bytes of workgroup memory, over ${caps.maxWorkgroupStorage}`;
  return null;
}

export const hsaChunkAttentionForward: Kernel<HsaChunkAttentionGpuParams> = {
  name: 'hsaChunkAttentionForward',
  ref: (a, p) => (p.merge ? mergePartRef(a, p, p.merge) : partRef(a, p)),
  program(p, caps) {
    const ratio = headRatio('hsaChunkAttention', p.hq, p.hk);
    const kv = p.kv ?? 'f32';
    const tile = chunkTile(ratio, p.d, p.s, kv);
    if (chunkWords(tile) * 4 > caps.maxWorkgroupStorage || caps.maxInvocations < CHUNK_WG) {
      throw new ArgumentError(`hsaChunkAttention: tile ${JSON.stringify(tile)} does not fit this device's workgroup limits`);
    }
    const np = p.np ?? 1;
    const fixed = p.merge ? CHUNK_FIXED_BUFFERS_MERGE : CHUNK_FIXED_BUFFERS;
    if (!Number.isInteger(np) || np < 1 || 2 * np + fixed > (caps.maxStorageBuffers ?? 8)) {
      throw new ArgumentError(`hsaChunkAttention: ${np} memory parts need ${2 * np + fixed} storage buffers, over this device's ${caps.maxStorageBuffers ?? 8}`);
    }
    if (np > 1 && !(Number.isInteger(p.perPart) && (p.perPart ?? 0) > 0)) throw new ArgumentError('hsaChunkAttention: np > 1 needs perPart, a positive integer');
    const head = p.variant === 'head';
    const mma = p.variant === 'mma';
    const dec = p.variant === 'decode';
    if (dec) {
      const why = decodeUnsupported(p.d, kv);
      if (why) throw new ArgumentError(`hsaChunkAttention: the decode variant cannot run here (${why})`);
      const bytes = decodeBytes({ D: p.d, S: p.s, kv, NP: np });
      if (bytes > caps.maxWorkgroupStorage || caps.maxInvocations < DECODE_WG) {
        throw new ArgumentError(`hsaChunkAttention: the decode variant needs ${bytes} bytes of workgroup memory and ${DECODE_WG} invocations`);
      }
    }
    if (mma) {
      const why = chunkMmaUnsupported(caps, p.d, p.s);
      if (why) throw new ArgumentError(`hsaChunkAttention: the mma variant cannot run here (${why})`);
    }
    const hblocks = Math.ceil(ratio / (mma ? MMA_ROWS : tile.HB));
    const jsplit = p.jsplit ?? 1;
    const nwg = p.t * (head || dec ? p.hq : p.hk * hblocks) * jsplit;
    const mg = p.merge;
    if (mg && !dec) throw new ArgumentError('hsaChunkAttention: the merge runs in the decode variant only');
    const KM = sgListLength(p.k);
    const nb = mg ? Math.ceil(p.chunks / mg.blockLen) : 0;
    if (mg) {
      const why = chunkMergeUnsupported(caps, { d: p.d, s: p.s, k: p.k, kv, np, nb });
      if (why) throw new ArgumentError(`hsaChunkAttention: the merge cannot run in the decode variant here (${why})`);
      if (!(mg.hr === 1 || mg.hr === p.hk)) throw new ArgumentError(`hsaChunkAttention: ${mg.hr} retrieval heads must be 1 or ${p.hk}`);
    }
    const bufs = mg ? mergeBuffers(kv, np) : buffers(kv, np, mma && mmaDirect(kv));
    const header = mg
      ? `${WGSL_SUBGROUPS}\n${UM.wgsl('U')}\n${wgslBindings(bufs, 'U')}\n${SLOT_RULES}\n${sgMergeFns(caps.subgroupMinSize, KM, mergeLists(caps, nb))}`
      : `${U.wgsl('U')}\n${wgslBindings(bufs, 'U')}`;
    // the decode variant reads 16-byte words: vec4<f32>, or vec4<u32> of 8 packed halves
    const wordHeader = () => header.replace(/(mem[KV]\d*): array<(f32|u32)>/g, (_, n: string, ty: string) => `${n}: array<vec4<${ty}>>`);
    const sg = caps.subgroupMaxSize ?? 32;
    const vals = {
      hq: p.hq,
      hk: p.hk,
      ratio,
      hblocks,
      k: p.k,
      c0: p.c0 ?? 0,
      cn: p.cn ?? p.chunks,
      accumulate: p.accumulate ? 1 : 0,
      nwg,
      jsplit,
      plane0: p.plane0 ?? 0,
      planeSize: p.t * p.hq * p.d,
      perPart: p.perPart ?? 0,
      smN: p.smN ?? 0,
      scale: p.scale ?? 1 / Math.sqrt(p.d),
    };
    return {
      key: `${head ? 'hsaChunkAttention:head' : dec ? `hsaChunkAttention:decode${mg ? `:merge${caps.subgroupMinSize}x${KM}x${mergeLists(caps, nb)}` : ''}` : mma ? `hsaChunkAttention:mma${sg}` : `hsaChunkAttention:${tile.HB}x${tile.KT}`}:d${p.d}:s${p.s}:${kv}:np${np}`,
      code: () =>
        dec
          ? hsaChunkAttentionDecodeWgsl({ D: p.d, S: p.s, kv, NP: np, merge: mg ? caps.subgroupMinSize : undefined }, wordHeader())
          : head
          ? hsaChunkAttentionHeadWgsl({ D: p.d, S: p.s, kv, NP: np }, header)
          : mma
            ? hsaChunkAttentionMmaWgsl({ D: p.d, S: p.s, kv, NP: np, SG: sg }, header)
            : hsaChunkAttentionWgsl({ ...tile, NP: np }, header),
      buffers: bufs,
      uniforms: mg
        ? UM.pack({
            ...vals,
            ...slotRuleUniforms(mg),
            ncand: nb * p.k,
            hr: mg.hr,
            s: p.s,
            writeSel: mg.writeSel ? 1 : 0,
          })
        : U.pack(vals),
      workgroups: nwg === 0 ? [0, 1, 1] : grid(nwg, caps),
    };
  },
};

const SUM_U = defineUniforms({ n: 'u32', planes: 'u32', accumulate: 'u32' });
const SUM_B: BufferBinding[] = [
  { name: 'parts', access: 'read', type: 'f32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];

/**
 * hsaPlaneSum: out[i] = Σ_p parts[p·n + i], planes in order (the split chunk attention's reduction);
 * with `accumulate`, out[i] + that sum.
 */
export const hsaPlaneSum: Kernel<{ n: number; planes: number; accumulate?: boolean }> = {
  name: 'hsaPlaneSum',
  ref([parts, out], p) {
    for (let i = 0; i < p.n; i++) {
      let s = 0;
      for (let q = 0; q < p.planes; q++) s += parts[q * p.n + i];
      out[i] = p.accumulate ? out[i] + s : s;
    }
  },
  program: (p, caps) => ({
    key: 'hsaPlaneSum',
    code: () => `${SUM_U.wgsl('U')}
${wgslBindings(SUM_B, 'U')}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= u.n) { return; }
  var s = 0.0;
  for (var q = 0u; q < u.planes; q++) { s += parts[q * u.n + i]; }
  out[i] = select(s, out[i] + s, u.accumulate != 0u);
}`,
    buffers: SUM_B,
    uniforms: SUM_U.pack({ n: p.n, planes: p.planes, accumulate: p.accumulate ? 1 : 0 }),
    workgroups: grid(Math.ceil(p.n / 256), caps),
  }),
};
