/**
 * hsaChunkAttention: for each token and query head, softmax attention inside each selected chunk
 * (NoPE, optionally off-by-one), weighted by the fusion weights (reference-model.md §3.7). Works for
 * prefill ([T, ...]) and decode (T = 1) against a memory of any length: the memory may be a list of
 * parts (each within one binding), processed in order into the same output.
 */
import { ArgumentError, CHUNK_FIXED_BUFFERS, CHUNK_FIXED_BUFFERS_MERGE, type ChunkMergeParams, chunkDecodeUnsupported, chunkMmaUnsupported, hsaChunkAttentionForward, hsaPlaneSum, ShapeError } from '@hsa/kernels';
import { fmtShape, Tensor } from '../../tensor.js';
import { expectDtype, sameBackend } from '../guards.js';

export interface HsaChunkAttentionOptions {
  /** chunk size S */
  chunkSize: number;
  /** 1 for softmax-off-by-one (enable_softmax1) */
  smN?: 0 | 1;
  /** default 1/√D */
  scale?: number;
  /**
   * WebGPU kernel: `decode` (one query head and a group of slots a workgroup, see slotSplit, K/V
   * read as 16-byte words: D a multiple of 8, or of 4 for f32 memory), `head` (one query head and
   * slot a workgroup, scalar loads), `tile` (K/V tiles shared by up to 16 heads) or `mma` (the
   * tile variant's work on f16 subgroup matrices: a device created with `subgroupMatrix: true` that
   * offers them, S and D multiples of 64); default `decode` for one token (`head` where D does not
   * allow it), else `mma` where it can run, else `tile`. `decode`, `head` and `tile` give the same
   * results to f32 rounding; `mma` rounds Q, K, V and the probabilities to f16 (sums in f32).
   */
  variant?: 'tile' | 'head' | 'mma' | 'decode';
  /**
   * memory parts bound by one dispatch (default: as many as the device's storage buffers allow when
   * every part but the last has the same chunk count, else 1)
   */
  partsPerDispatch?: number;
  /**
   * few workgroups (decode: T·Hk < 256): workgroups a (token, head) over the slots, each summing its
   * slots into its own output plane, the planes summed in order by a second dispatch (default: k,
   * one slot a workgroup, for the head and tile variants; ⌈k / ⌊256 / S⌋⌉ for the decode variant;
   * 1: no planes, no second dispatch)
   */
  slotSplit?: number;
}

/** Chunk count of each memory part [Ci·S, Hk, D], after checking shapes and dtypes. */
function partChunks(op: string, ks: Tensor[], vs: Tensor[], s: number, hk: number, d: number): number[] {
  if (ks.length === 0 || ks.length !== vs.length) throw new ShapeError(`${op}: memK and memV need the same number (≥ 1) of parts`);
  return ks.map((k, i) => {
    const v = vs[i];
    expectDtype(op, k, 'f32', 'bf16', 'f16');
    if (v.dtype !== k.dtype || k.dtype !== ks[0].dtype) throw new ShapeError(`${op}: memory parts must share one dtype`);
    const ok = k.rank === 3 && k.shape[1] === hk && k.shape[2] === d && k.shape[0] % s === 0 && v.shape.every((x, j) => x === k.shape[j]);
    if (!ok) throw new ShapeError(`${op}: memory part ${i} K ${fmtShape(k.shape)}, V ${fmtShape(v.shape)} must be [C·${s}, ${hk}, ${d}]`);
    return k.shape[0] / s;
  });
}

/**
 * The kernel variant hsaChunkAttention runs for q [T, Hq, D] over memory of this dtype: the option's,
 * or the default: for one token `decode` (`head` where D does not allow it); for many, the matrix
 * units where the device offers them (f16 products, f32 sums), else the tile variant.
 */
export function chunkAttentionVariant(q: Tensor, kv: 'f32' | 'bf16' | 'f16', options: HsaChunkAttentionOptions): NonNullable<HsaChunkAttentionOptions['variant']> {
  if (options.variant) return options.variant;
  const [t, , d] = q.shape;
  if (t === 1) return chunkDecodeUnsupported(d, kv) === null ? 'decode' : 'head';
  return chunkMmaUnsupported(q.backend.caps, d, options.chunkSize) === null ? 'mma' : 'tile';
}

/**
 * The memory parts (chunk counts) in groups of np, one dispatch a group: its parts bound together
 * (every part but the last of equal size), as many as the storage buffers allow beside the fixed
 * ones (those of the merging decode variant with `merge`), at most `perDispatch`.
 */
export function partGroups(chunks: number[], maxBuffers: number, merge: boolean, perDispatch?: number): number[][] {
  const per = chunks[0];
  const even = chunks.every((c, i) => c === per || (i === chunks.length - 1 && c < per));
  const maxNp = Math.max(1, Math.floor((maxBuffers - (merge ? CHUNK_FIXED_BUFFERS_MERGE : CHUNK_FIXED_BUFFERS)) / 2));
  const np = even ? Math.max(1, Math.min(perDispatch ?? maxNp, maxNp, chunks.length)) : 1;
  const groups: number[][] = [];
  for (let i = 0; i < chunks.length; i += np) groups.push(chunks.slice(i, i + np).map((_, j) => i + j));
  return groups;
}

/**
 * q [T, Hq, D]; memK, memV [C·S, Hk, D] (f32, bf16 or f16; or lists of such parts, chunk-contiguous);
 * idx (i32) and w [T, Hk, k] → out [T, Hq, D]. Slots with w = 0 are not read.
 */
export function hsaChunkAttention(...args: ChunkAttentionArgs): Tensor {
  return chunkAttention(...args);
}

type ChunkAttentionArgs = [q: Tensor, memK: Tensor | Tensor[], memV: Tensor | Tensor[], idx: Tensor, w: Tensor, options: HsaChunkAttentionOptions];

/**
 * The retrieval's merge run by the decode variant's dispatches (hsaDecodeStep): the scan's candidate
 * lists candS / candI [T·Hr, nb, k]; idx, w and sel are written by the first dispatch.
 */
export interface ChunkMerge {
  candS: Tensor;
  candI: Tensor;
  sel: Tensor;
  params: Omit<ChunkMergeParams, 'writeSel'>;
}

/** hsaChunkAttention, with `merge` the decode variant choosing its chunks itself (idx, w, sel its outputs). */
export function chunkAttention(...[q, memK, memV, idx, w, options, merge]: [...ChunkAttentionArgs, merge?: ChunkMerge]): Tensor {
  const op = 'hsaChunkAttention';
  const ks = Array.isArray(memK) ? memK : [memK];
  const vs = Array.isArray(memV) ? memV : [memV];
  sameBackend(op, q, idx, w, ...ks, ...vs);
  expectDtype(op, q, 'f32');
  expectDtype(op, idx, 'i32');
  expectDtype(op, w, 'f32');
  const s = options.chunkSize;
  if (!Number.isInteger(s) || s <= 0) throw new ArgumentError(`${op}: chunkSize must be a positive integer, got ${s}`);
  if (q.rank !== 3) throw new ShapeError(`${op}: q ${fmtShape(q.shape)} must be [T, Hq, D]`);
  const [t, hq, d] = q.shape;
  const hk = ks[0].shape[1];
  if (hk === undefined || hk === 0 || hq % hk !== 0) throw new ShapeError(`${op}: ${hq} query heads do not divide into ${hk} KV heads`);
  const chunks = partChunks(op, ks, vs, s, hk, d);
  const k = idx.shape[2];
  if (idx.rank !== 3 || idx.shape[0] !== t || idx.shape[1] !== hk || w.shape.some((x, i) => x !== idx.shape[i]) || w.rank !== 3) {
    throw new ShapeError(`${op}: idx ${fmtShape(idx.shape)} and w ${fmtShape(w.shape)} must be [${t}, ${hk}, k]`);
  }
  const total = chunks.reduce((a, b) => a + b, 0);
  const out = Tensor.empty(q.backend, [t, hq, d], 'f32');
  if (out.size === 0) return out;
  const ins = [q, idx, w].map((x) => x.contiguous());
  const kv = ks[0].dtype as 'f32' | 'bf16' | 'f16';
  const variant = chunkAttentionVariant(q, kv, options);
  if (merge && variant !== 'decode') throw new ArgumentError(`${op}: the retrieval's merge runs in the decode variant only, not ${variant}`);
  const base = { t, hq, hk, d, s, chunks: total, k, smN: options.smN, scale: options.scale, kv, variant };
  const per = chunks[0];
  const groups = partGroups(chunks, q.backend.caps.maxStorageBuffers ?? 8, merge !== undefined, options.partsPerDispatch);
  // few workgroups (decode): jsplit a (token, head) (slotSplit), each into its own output
  // plane, summed in a fixed order; group i writes planes i·jsplit … (i + 1)·jsplit − 1 of one tensor
  // (disjoint: no write-after-write between the groups' dispatches), one sum over all gives `out`
  const ss = options.slotSplit;
  if (ss !== undefined && !(Number.isInteger(ss) && ss >= 1)) throw new ArgumentError(`${op}: slotSplit must be a positive integer, got ${ss}`);
  // the decode variant: about 256 rows (slot × key) a workgroup, all of its key loads in one pass
  // (H200, 1M-16M tokens, k 16, S 64: 4 slots a workgroup took 0.55-0.65x the time of one slot a
  // workgroup, and of the head variant; bench/attention)
  const perWg = variant === 'decode' ? Math.max(1, Math.floor(256 / s)) : 1;
  const jsplit = t * hk < 256 && k > 1 ? Math.max(1, Math.min(k, options.slotSplit ?? Math.ceil(k / perWg))) : 1;
  const split = jsplit > 1;
  // allocated before the first dispatch (a buffer freed in between could be reused)
  const planes = split ? Tensor.empty(q.backend, [groups.length * jsplit, t, hq, d], 'f32') : undefined;
  let c0 = 0;
  groups.forEach((group, i) => {
    const mk = group.map((j) => ks[j].contiguous());
    const mv = group.map((j) => vs[j].contiguous());
    const cn = group.reduce((n, j) => n + chunks[j], 0);
    const target = planes ?? out;
    const p = { ...base, c0, cn, accumulate: !split && i > 0, jsplit, plane0: split ? i * jsplit : 0, np: group.length, perPart: per };
    const mem = [...mk.map((x) => x.arg()), ...mv.map((x) => x.arg())];
    if (merge) {
      const mp = { ...p, merge: { ...merge.params, writeSel: i === 0 } };
      q.backend.run(hsaChunkAttentionForward, mp, [ins[0].arg(), ...mem, merge.candS.arg(), merge.candI.arg(), idx.arg(), w.arg(), merge.sel.arg(), target.arg()]);
    } else {
      q.backend.run(hsaChunkAttentionForward, p, [ins[0].arg(), ...mem, ins[1].arg(), ins[2].arg(), target.arg()]);
    }
    for (const x of [...mk, ...mv]) x.dispose();
    c0 += cn;
  });
  if (planes) {
    q.backend.run(hsaPlaneSum, { n: out.size, planes: groups.length * jsplit }, [planes.arg(), out.arg()]);
    planes.dispose();
  }
  for (const x of ins) x.dispose();
  return out;
}
