/**
 * hsaDecodeStep: one HSA step of a few tokens against a chunk memory of any length: the retrieval
 * (landmark scan, top-k with the slot rules, fusion weights; hsaRetrieval) and the chunk attention
 * with the fusion sum (hsaChunkAttention) as one call. On WebGPU, where the device can, the decode
 * variant's workgroups run the retrieval's merge themselves (v6: each merges its row's candidate
 * lists in workgroup memory) so the step is three dependent dispatches (scan, attention, plane sum)
 * instead of four; the results are the separate ops' (idx, w, sel exactly, out to f32 rounding).
 */
import { ArgumentError, chunkDecodeUnsupported, chunkMergeUnsupported, hsaSlots, ShapeError } from '@hsa/kernels';
import { fmtShape, Tensor } from '../../tensor.js';
import { chunkAttention, type HsaChunkAttentionOptions, hsaChunkAttention, partGroups } from './hsaChunkAttention.js';
import { type HsaRetrievalOptions, type HsaRetrievalResult, hsaRetrieval, retrievalInputs, retrievalParams, scanCandidates } from './hsaRetrieval.js';

export interface HsaDecodeStepOptions extends Omit<HsaRetrievalOptions, 'hk' | 'scale' | 'fusedVersion' | 'posOffset'>, Omit<HsaChunkAttentionOptions, 'chunkSize'> {
  /** absolute position of token 0 */
  pos: number;
  /** the landmark scores' scale (default 1/√dr); `scale` is the chunk attention's (default 1/√D) */
  retrievalScale?: number;
  /**
   * the merge inside the chunk attention (v6): default where it runs (WebGPU with subgroups of one
   * size holding a list of k, the block scan with the subgroup top-k, the decode variant, one
   * dispatch over the memory parts); `false`: the separate merge dispatch; `true` where it cannot
   * run is an ArgumentError
   */
  fuseMerge?: boolean;
}

export interface HsaDecodeStepResult extends HsaRetrievalResult {
  /** [T, Hq, D] */
  out: Tensor;
}

/** Most tokens a step runs the decode variant (a workgroup a token, query head and slot group) for. */
const DECODE_MAX_T = 16;

/**
 * q [T, Hq, D], qr [T, Hr, dr], landmarks [C, Hr, dr], memK / memV [C·S, Hk, D] (or lists of parts,
 * C chunks in all) → out [T, Hq, D] with the retrieval's idx, w [T, Hk, k_eff] and sel [T, Hr, k_eff].
 */
export function hsaDecodeStep(q: Tensor, qr: Tensor, lmk: Tensor, memK: Tensor | Tensor[], memV: Tensor | Tensor[], options: HsaDecodeStepOptions): HsaDecodeStepResult {
  const op = 'hsaDecodeStep';
  const ks = Array.isArray(memK) ? memK : [memK];
  const vs = Array.isArray(memV) ? memV : [memV];
  if (q.rank !== 3 || qr.rank !== 3 || q.shape[0] !== qr.shape[0] || ks.length === 0 || ks[0].rank !== 3) {
    throw new ShapeError(`${op}: expected q [T, Hq, D], qr [T, Hr, dr] and memory [C·S, Hk, D], got q ${fmtShape(q.shape)}, qr ${fmtShape(qr.shape)}, memK ${ks.map((x) => fmtShape(x.shape)).join(' ')}`);
  }
  const s = options.chunkSize;
  const { pos, retrievalScale, fuseMerge, smN, scale, slotSplit, partsPerDispatch, variant, ...retrieval } = options;
  const rOpts: HsaRetrievalOptions = { ...retrieval, posOffset: pos, hk: ks[0].shape[1], scale: retrievalScale };
  const aOpts: HsaChunkAttentionOptions = { chunkSize: s, smN, scale, slotSplit, partsPerDispatch, variant };
  const p = retrievalParams(op, qr, lmk, rOpts);
  const partChunks = ks.map((x) => Math.floor(x.shape[0] / s));
  const memChunks = partChunks.reduce((n, c) => n + c, 0);
  if (memChunks !== p.chunks) throw new ShapeError(`${op}: ${p.chunks} landmarks for ${memChunks} chunks of memory`);
  const k = hsaSlots(p);
  const be = q.backend;
  const kv = ks[0].dtype as 'f32' | 'bf16' | 'f16';
  const why =
    be.name !== 'webgpu'
      ? 'not on WebGPU'
      : p.pass !== 'scan'
        ? 'no block scan (many rows or few chunks)'
        : k === 0
          ? 'no visible chunk'
          : (p.topkMode ?? 'subgroup') !== 'subgroup' || (variant ?? 'decode') !== 'decode'
            ? `asked for top-k ${p.topkMode} and variant ${variant}`
            : q.shape[0] > DECODE_MAX_T || chunkDecodeUnsupported(q.shape[2], kv) !== null
            ? `not the decode variant (${q.shape[0]} tokens, head size ${q.shape[2]})`
            : partGroups(partChunks, be.caps.maxStorageBuffers ?? 8, true, partsPerDispatch).length > 1
              ? 'the memory parts take more than one dispatch'
              : chunkMergeUnsupported(be.caps, { d: q.shape[2], s, k, kv, np: ks.length, nb: Math.ceil(p.chunks / p.blockLen) });
  // on the CPU the merge's reference is the same code either way: `true` runs it
  const fuse = fuseMerge ?? why === null;
  if (fuse && why !== null && be.name === 'webgpu') throw new ArgumentError(`${op}: the merge cannot run inside the chunk attention here (${why})`);
  if (!fuse || p.pass !== 'scan' || k === 0) {
    const r = hsaRetrieval(qr, lmk, rOpts);
    return { ...r, out: hsaChunkAttention(q, memK, memV, r.idx, r.w, aOpts) };
  }
  const idx = Tensor.empty(be, [p.t, p.hk, k], 'i32');
  const w = Tensor.empty(be, [p.t, p.hk, k], 'f32');
  const sel = Tensor.empty(be, [p.t, p.hr, k], 'f32');
  const [qc, l] = retrievalInputs(p, qr, lmk);
  const { candS, candI } = scanCandidates(p, qc, l);
  qc.dispose();
  l.dispose();
  const merge = { candS, candI, sel, params: { blockLen: p.blockLen, hr: p.hr, posOffset: p.posOffset ?? 0, segLen: p.segLen, maskWindow: p.maskWindow, mode: p.mode, posDecay: p.posDecay } };
  try {
    return { idx, w, sel, out: chunkAttention(q, ks, vs, idx, w, { ...aOpts, variant: 'decode' }, merge) };
  } catch (e) {
    for (const x of [idx, w, sel]) x.dispose();
    throw e;
  } finally {
    candS.dispose();
    candI.dispose();
  }
}
