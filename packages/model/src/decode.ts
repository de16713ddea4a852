/**
 * Incremental decoding (reference-model.md §4): a DecodeState holds, per SWA module, ring buffers of
 * the post-norm post-RoPE K and V of the last W tokens (W_h for the HSA layers' own SWA), the chunk
 * buffer of lower-decoder hidden states not yet forming a chunk, and the shared chunk memory, which
 * grows as chunks complete (each encoded as in §3.5 in the step that processes its last token).
 * Retrieval scores all stored landmarks at the token's absolute position (k_eff = min(#chunks, topk)),
 * RoPE continues from the cache position. The layer math is the forward's own (layers/*, forward.ts):
 * the steps run it with `ctx.decode` set. A prefill segment is one cached pass over its tokens.
 */
import { ArgumentError, concat, embedding, sliceCopy, Tensor } from '@hsa/tensor';
import { layerKinds } from './config.js';
import { type LayerState, layerForward, outputHead, prepareIds } from './forward.js';
import { type ChunkMemory, chunkingForward, disposeMemory } from './layers/chunking-layer.js';
import type { DecodeHooks, ForwardContext } from './layers/common.js';
import type { HsaModel } from './model.js';

interface RingBuffer {
  k: Tensor;
  v: Tensor;
}

/** The cache of one sequence (batch 1) of a model: position, SWA ring buffers, chunk buffer, chunk memory. */
export class DecodeState {
  /** absolute position of the next token (= tokens processed so far) */
  pos = 0;
  /** ring buffers [W, Hk, dh] per SWA module prefix (slot p mod W holds position p) */
  readonly swa = new Map<string, RingBuffer>();
  /** lower-decoder hidden states [n, d] of the tokens since the last completed chunk (< S of them) */
  buffer: Tensor[] = [];
  /** the shared memory of the completed chunks */
  memory: ChunkMemory | null = null;
  private disposed = false;

  constructor(readonly model: HsaModel) {}

  /** The ring buffers of the SWA module at `prefix` (zeros until written). */
  ringBuffer(prefix: string, window: number): RingBuffer {
    let r = this.swa.get(prefix);
    if (!r) {
      const { kvHeads, headDim } = this.model.config;
      const zeros = () => Tensor.from(this.model.backend, new Float32Array(window * kvHeads * headDim), [window, kvHeads, headDim]);
      r = { k: zeros(), v: zeros() };
      this.swa.set(prefix, r);
    }
    return r;
  }

  /** Replaces (and disposes) the ring buffers of `prefix`. */
  replaceRing(prefix: string, r: RingBuffer): void {
    const old = this.swa.get(prefix);
    if (old) for (const t of [old.k, old.v]) t.dispose();
    this.swa.set(prefix, r);
  }

  /** Throws once disposed. */
  check(): void {
    if (this.disposed) throw new ArgumentError('decode: the DecodeState was disposed');
  }

  /** Stored chunks. */
  get chunks(): number {
    return this.memory?.chunks ?? 0;
  }

  dispose(): void {
    for (const r of this.swa.values()) for (const t of [r.k, r.v]) t.dispose();
    this.swa.clear();
    for (const t of this.buffer) t.dispose();
    this.buffer = [];
    disposeMemory(this.memory);
    this.memory = null;
    this.disposed = true;
  }
}

/** A fresh (empty) decoding state for the model. */
export function createDecodeState(model: HsaModel): DecodeState {
  return new DecodeState(model);
}

/** a ++ b along axis 0 (disposes both). */
function append(a: Tensor, b: Tensor): Tensor {
  const c = concat([a, b], 0);
  a.dispose();
  b.dispose();
  return c;
}

/** The memory with chunks m appended (disposes both). */
function appendMemory(old: ChunkMemory | null, m: ChunkMemory): ChunkMemory {
  if (!old) return m;
  return { chunks: old.chunks + m.chunks, memK: append(old.memK, m.memK), memV: append(old.memV, m.memV), landmarks: append(old.landmarks, m.landmarks) };
}

/**
 * The chunking layer of one segment: buffers H_low [T, d]; the completed chunks among buffer + segment
 * are encoded (§3.5) and their landmarks, K_mem and V_mem appended to the memory; the rest stays buffered.
 */
function chunkingStep(state: DecodeState): (ctx: ForwardContext, hLow: Tensor, p: string) => ChunkMemory | null {
  return (ctx, hLow, p) => {
    const S = ctx.config.chunkSize;
    const all = concat([...state.buffer, hLow], 0);
    for (const t of state.buffer) t.dispose();
    const n = all.shape[0];
    const done = Math.floor(n / S) * S;
    state.buffer = done < n ? [sliceCopy(all, 0, done, n)] : [];
    if (done > 0) {
      const m = chunkingForward({ config: ctx.config, weights: ctx.weights }, all, p);
      if (!m) throw new ArgumentError('decode: a full chunk produced no memory');
      state.memory = appendMemory(state.memory, m);
    }
    all.dispose();
    return state.memory;
  };
}

/** Runs a segment of checked ids through every layer from state.pos → logits [T, vocab]; advances pos. */
function step(state: DecodeState, ids: Int32Array): Tensor {
  const { config, weights } = state.model;
  const hooks: DecodeHooks = { pos: state.pos, swaCache: (p, w) => state.ringBuffer(p, w), setSwaCache: (p, c) => state.replaceRing(p, c) };
  const ctx: ForwardContext = { config, weights, decode: hooks };
  const st: LayerState = { x: embedding(weights.get('backbone.embeddings.weight'), ids), mem: state.memory, ret: null, group: 0 };
  const chunking = chunkingStep(state);
  try {
    const kinds = layerKinds(config);
    for (let i = 0; i < kinds.length; i++) layerForward(ctx, st, i, kinds[i], chunking);
    const logits = outputHead(ctx, st.x);
    state.pos += ids.length;
    return logits;
  } finally {
    st.x.dispose();
    if (st.ret) for (const t of [st.ret.idx, st.ret.w]) t.dispose();
  }
}

/** Logits [1, vocab] of the next token `id` given the state; the state advances by one token. */
export async function decodeStep(id: number, state: DecodeState): Promise<Tensor> {
  state.check();
  const logits = step(state, prepareIds(state.model.config, [id]));
  await state.model.backend.sync();
  return logits;
}

export interface PrefillOptions {
  /** tokens per segment (default 16384, inference_segment) */
  segment?: number;
}

/** Feeds ids [T] into the state in segments, each one cached forward pass (§4) → logits [T, vocab]. */
export async function prefill(ids: ArrayLike<number>, state: DecodeState, options: PrefillOptions = {}): Promise<Tensor> {
  state.check();
  const seg = options.segment ?? 16_384;
  if (!Number.isInteger(seg) || seg < 1) throw new ArgumentError(`prefill: segment must be a positive integer, got ${seg}`);
  const checked = prepareIds(state.model.config, ids);
  if (checked.length === 0) throw new ArgumentError('prefill: no tokens');
  const parts: Tensor[] = [];
  try {
    for (let t = 0; t < checked.length; t += seg) {
      parts.push(step(state, checked.subarray(t, t + seg)));
      await state.model.backend.sync();
    }
    return concat(parts, 0);
  } finally {
    for (const r of parts) r.dispose();
  }
}
