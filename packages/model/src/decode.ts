/**
 * Incremental decoding (reference-model.md §4): a DecodeState holds, per SWA module, ring buffers of
 * the post-norm post-RoPE K and V of the last W tokens (W_h for the HSA layers' own SWA), the chunk
 * buffer of lower-decoder hidden states not yet forming a chunk, and the shared chunk memory, which
 * grows as chunks complete (each encoded as in §3.5 in the step that processes its last token).
 * Retrieval scores all stored landmarks at the token's absolute position (k_eff = min(#chunks, topk)),
 * RoPE continues from the cache position. The layer math is the forward's own (layers/*, forward.ts):
 * the steps run it with `ctx.decode` set. `prefill` runs its segments one token at a time.
 */
import { ArgumentError, concat, embedding, Tensor } from '@hsa/tensor';
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
  /** lower-decoder hidden states [1, d] of the tokens since the last completed chunk (< S of them) */
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

/**
 * The chunking layer of one decode step: buffers H_low [1, d]; when S rows are buffered, encodes the
 * chunk (§3.5) and appends its landmark, K_mem and V_mem to the memory.
 */
function chunkingStep(state: DecodeState): (ctx: ForwardContext, hLow: Tensor, p: string) => ChunkMemory | null {
  return (ctx, hLow, p) => {
    state.buffer.push(hLow.reshape(hLow.shape));
    if (state.buffer.length < ctx.config.chunkSize) return state.memory;
    const rows = concat(state.buffer, 0);
    for (const t of state.buffer) t.dispose();
    state.buffer = [];
    const m = chunkingForward({ config: ctx.config, weights: ctx.weights }, rows, p);
    rows.dispose();
    if (!m) throw new ArgumentError('decode: a full chunk produced no memory');
    const old = state.memory;
    state.memory = old
      ? { chunks: old.chunks + m.chunks, memK: append(old.memK, m.memK), memV: append(old.memV, m.memV), landmarks: append(old.landmarks, m.landmarks) }
      : m;
    return state.memory;
  };
}

/** Runs one token (a checked id) through every layer at state.pos → logits [1, vocab]; advances pos. */
function step(state: DecodeState, id: number): Tensor {
  const { config, weights } = state.model;
  const hooks: DecodeHooks = { pos: state.pos, swaCache: (p, w) => state.ringBuffer(p, w) };
  const ctx: ForwardContext = { config, weights, decode: hooks };
  const st: LayerState = { x: embedding(weights.get('backbone.embeddings.weight'), Int32Array.of(id)), mem: state.memory, ret: null, group: 0 };
  const chunking = chunkingStep(state);
  try {
    const kinds = layerKinds(config);
    for (let i = 0; i < kinds.length; i++) layerForward(ctx, st, i, kinds[i], chunking);
    const logits = outputHead(ctx, st.x);
    state.pos++;
    return logits;
  } finally {
    st.x.dispose();
    if (st.ret) for (const t of [st.ret.idx, st.ret.w]) t.dispose();
  }
}

/** Logits [1, vocab] of the next token `id` given the state; the state advances by one token. */
export async function decodeStep(id: number, state: DecodeState): Promise<Tensor> {
  state.check();
  const logits = step(state, prepareIds(state.model.config, [id])[0]);
  await state.model.backend.sync();
  return logits;
}

export interface PrefillOptions {
  /** tokens per segment between device syncs (default 64) */
  segment?: number;
}

/**
 * Feeds ids [T] into the state in segments → logits [T, vocab] of every fed token. Each segment's
 * tokens go through the cached path one at a time (a segment of length 1 per token, §4).
 */
export async function prefill(ids: ArrayLike<number>, state: DecodeState, options: PrefillOptions = {}): Promise<Tensor> {
  state.check();
  const seg = options.segment ?? 64;
  if (!Number.isInteger(seg) || seg < 1) throw new ArgumentError(`prefill: segment must be a positive integer, got ${seg}`);
  const checked = prepareIds(state.model.config, ids);
  if (checked.length === 0) throw new ArgumentError('prefill: no tokens');
  const rows: Tensor[] = [];
  try {
    for (let t = 0; t < checked.length; t++) {
      rows.push(step(state, checked[t]));
      if ((t + 1) % seg === 0) await state.model.backend.sync();
    }
    const out = concat(rows, 0);
    await state.model.backend.sync();
    return out;
  } finally {
    for (const r of rows) r.dispose();
  }
}
