/**
 * hsaChunkAttention: for each token and query head, softmax attention inside each selected chunk
 * (NoPE, optionally off-by-one), weighted by the fusion weights (reference-model.md §3.7). Works for
 * prefill ([T, ...]) and decode (T = 1) against a memory of any length: the memory may be a list of
 * parts (each within one binding), processed in order into the same output.
 */
import { ArgumentError, CHUNK_FIXED_BUFFERS, chunkMmaUnsupported, hsaChunkAttentionForward, hsaPlaneSum, ShapeError } from '@hsa/kernels';
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
   * WebGPU kernel: `head` (one query head a workgroup, for decode), `tile` (K/V tiles shared by up
   * to 16 heads) or `mma` (the tile variant's work on f16 subgroup matrices: a device created with
   * `subgroupMatrix: true` that offers them, S and D multiples of 64); default `head` for one token,
   * else `mma` where it can run, else `tile`. `head` and `tile` give the same results to f32
   * rounding; `mma` rounds Q, K, V and the probabilities to f16 (sums in f32).
   */
  variant?: 'tile' | 'head' | 'mma';
  /**
   * memory parts bound by one dispatch (default: as many as the device's storage buffers allow when
   * every part but the last has the same chunk count, else 1)
   */
  partsPerDispatch?: number;
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
 * q [T, Hq, D]; memK, memV [C·S, Hk, D] (f32, bf16 or f16; or lists of such parts, chunk-contiguous);
 * idx (i32) and w [T, Hk, k] → out [T, Hq, D]. Slots with w = 0 are not read.
 */
export function hsaChunkAttention(
  q: Tensor,
  memK: Tensor | Tensor[],
  memV: Tensor | Tensor[],
  idx: Tensor,
  w: Tensor,
  options: HsaChunkAttentionOptions,
): Tensor {
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
  // prefill: the matrix units where the device offers them (f16 products, f32 sums), else the tile variant
  const variant = options.variant ?? (t === 1 ? 'head' : chunkMmaUnsupported(q.backend.caps, d, s) === null ? 'mma' : 'tile');
  const base = { t, hq, hk, d, s, chunks: total, k, smN: options.smN, scale: options.scale, kv: ks[0].dtype as 'f32', variant };
  // the parts in groups of np, one dispatch a group (its parts bound together: every part but the
  // last of equal size)
  const per = chunks[0];
  const even = chunks.every((c, i) => c === per || (i === chunks.length - 1 && c < per));
  const maxNp = Math.max(1, Math.floor(((q.backend.caps.maxStorageBuffers ?? 8) - CHUNK_FIXED_BUFFERS) / 2));
  const np = even ? Math.max(1, Math.min(options.partsPerDispatch ?? maxNp, maxNp, chunks.length)) : 1;
  const groups: number[][] = [];
  for (let i = 0; i < chunks.length; i += np) groups.push(chunks.slice(i, i + np).map((_, j) => i + j));
  // few workgroups (decode): one per slot, each into its own output plane, summed in a fixed order;
  // group i writes planes i·k … i·k + k − 1 of one tensor (disjoint: no write-after-write between the
  // groups' dispatches), and one sum over all of them gives `out`
  const split = t * hk < 256 && k > 1;
  const jsplit = split ? k : 1;
  // allocated before the first dispatch (a buffer freed in between could be reused)
  const planes = split ? Tensor.empty(q.backend, [groups.length * k, t, hq, d], 'f32') : undefined;
  let c0 = 0;
  groups.forEach((group, i) => {
    const mk = group.map((j) => ks[j].contiguous());
    const mv = group.map((j) => vs[j].contiguous());
    const cn = group.reduce((n, j) => n + chunks[j], 0);
    const target = planes ?? out;
    const p = { ...base, c0, cn, accumulate: !split && i > 0, jsplit, plane0: split ? i * k : 0, np: group.length, perPart: per };
    q.backend.run(hsaChunkAttentionForward, p, [ins[0].arg(), ...mk.map((x) => x.arg()), ...mv.map((x) => x.arg()), ins[1].arg(), ins[2].arg(), target.arg()]);
    for (const x of [...mk, ...mv]) x.dispose();
    c0 += cn;
  });
  if (planes) {
    q.backend.run(hsaPlaneSum, { n: out.size, planes: groups.length * k }, [planes.arg(), out.arg()]);
    planes.dispose();
  }
  for (const x of ins) x.dispose();
  return out;
}
