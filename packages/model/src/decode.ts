/**
 * Incremental decoding (reference-model.md §4): a DecodeState holds, per SWA module, ring buffers of
 * the post-norm post-RoPE K and V of the last W tokens (W_h for the HSA layers' own SWA), the chunk
 * buffer of lower-decoder hidden states not yet forming a chunk, and the shared chunk memory, which
 * grows as chunks complete (each encoded as in §3.5 in the step that processes its last token).
 * Retrieval scores all stored landmarks at the token's absolute position (k_eff = min(#chunks, topk)),
 * RoPE continues from the cache position. The layer math is the forward's own (layers/*, forward.ts):
 * the steps run it with `ctx.decode` set. A prefill segment is one cached pass over its tokens.
 */
import { AbortedError, ArgumentError, concat, embedding, sliceCopy, Tensor } from '@hsa/tensor';
import { type HsaConfig, layerKinds } from './config.js';
import { type LayerState, layerForward, outputHead, prepareIds } from './forward.js';
import { ChunkStore } from './chunk-store.js';
import { HostChunkStore } from './host-store.js';
import { type ChunkMemory, chunkingForward, disposeMemory } from './layers/chunking-layer.js';
import type { DecodeHooks, ForwardContext, Recorder } from './layers/common.js';
import type { HsaModel } from './model.js';

interface RingBuffer {
  k: Tensor;
  v: Tensor;
}

export interface DecodeStateOptions {
  /**
   * Where chunk K/V live: 'device' (default) or 'host' (hsa-spec.md §9: landmarks stay on the device;
   * each HSA layer uploads only the chunks its queries selected, so the context is bounded by host
   * memory; costs a readback of the selection per HSA layer and pass).
   */
  memory?: 'device' | 'host';
}

/** The cache of one sequence (batch 1) of a model: position, SWA ring buffers, chunk buffer, chunk memory. */
export class DecodeState {
  /** absolute position of the next token (= tokens processed so far) */
  pos = 0;
  /** ring buffers [W, Hk, dh] per SWA module prefix (slot p mod W holds position p) */
  readonly swa = new Map<string, RingBuffer>();
  /** lower-decoder hidden states [n, d] of the tokens since the last completed chunk (< S of them) */
  buffer: Tensor[] = [];
  /** the shared memory of the completed chunks: on the device (grown in blocks, never re-concatenated) or K/V in host memory */
  readonly store: ChunkStore | HostChunkStore;
  /** tokens chosen but not yet fed (generate leaves its last sampled token here; the next generate feeds it first) */
  pending: number[] = [];
  private disposed = false;

  constructor(
    readonly model: HsaModel,
    options: DecodeStateOptions = {},
  ) {
    this.store = options.memory === 'host' ? new HostChunkStore(model.config, model.backend) : new ChunkStore(model.config, model.backend);
    // a prefill segment frees its activations and allocates them again for the next one: keep twice
    // the plan's bound pooled (buffers are pooled by size class, and a segment's classes vary). The
    // bench/model config (plan 1.1 GiB a 16K segment) prefilled 9% slower with the default 1 GiB pool
    // than with 16 GiB.
    model.backend.reservePool?.(2 * model.memoryPlan(model.config.inferenceSegment).activations);
  }

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
    return this.store.chunks;
  }

  dispose(): void {
    for (const r of this.swa.values()) for (const t of [r.k, r.v]) t.dispose();
    this.swa.clear();
    for (const t of this.buffer) t.dispose();
    this.buffer = [];
    this.store.dispose();
    this.disposed = true;
  }
}

/** Throws a typed E_ABORTED error when the signal fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what}: aborted${signal.reason instanceof Error ? ` (${signal.reason.message})` : ''}`);
}

/** A fresh (empty) decoding state for the model. */
export function createDecodeState(model: HsaModel, options: DecodeStateOptions = {}): DecodeState {
  return new DecodeState(model, options);
}

/**
 * The chunking layer of one segment: buffers H_low [T, d]; the completed chunks among buffer + segment
 * are encoded (§3.5) and their landmarks, K_mem and V_mem appended to the memory; the rest stays buffered.
 */
function chunkingStep(state: DecodeState, views: (ChunkMemory | null)[]): (ctx: ForwardContext, hLow: Tensor, p: string) => ChunkMemory | null {
  return (ctx, hLow, p) => {
    const S = ctx.config.chunkSize;
    const all = concat([...state.buffer, hLow], 0);
    for (const t of state.buffer) t.dispose();
    const n = all.shape[0];
    const done = Math.floor(n / S) * S;
    state.buffer = done < n ? [sliceCopy(all, 0, done, n)] : [];
    if (done > 0) {
      // row 0 of `all` is the first buffered token: absolute position pos − (buffered rows), a multiple of S
      const m = chunkingForward({ config: ctx.config, weights: ctx.weights }, all, p, ctx.decode!.pos - (n - hLow.shape[0]));
      if (!m) throw new ArgumentError('decode: a full chunk produced no memory');
      state.store.append(m);
    }
    all.dispose();
    const v = state.store.view();
    views.push(v);
    return v;
  };
}

/** An HSA layer over host-resident K/V: its selected chunks uploaded as a compact memory, the selection renumbered. */
async function hostHsaLayer(ctx: ForwardContext, st: LayerState, i: number, host: HostChunkStore): Promise<void> {
  const ret = st.ret!;
  const view = st.mem!;
  const r = await host.resolve(ret.idx, ret.w);
  ret.idx.dispose();
  st.ret = { idx: r.idx, w: ret.w };
  st.mem = { chunks: r.chunks, memK: r.memK, memV: r.memV, landmarks: view.landmarks };
  try {
    layerForward(ctx, st, i, 'HierarchicalSparseAttention');
  } finally {
    for (const t of [r.memK, r.memV]) t.dispose();
    st.mem = view;
  }
}

/** What a cached pass returns and records. */
interface StepOptions {
  /** only the last token's logits ([1, vocab]) */
  lastOnly?: boolean;
  /** receives the pass's intermediates (forward.ts names; retrieval{g}.indices/weights) */
  record?: Recorder;
  /** run only the lower decoder and the chunking layer (no logits): the lazy upper decoder's skipped tokens */
  lowerOnly?: boolean;
}

/** Runs a segment of checked ids through every layer from state.pos → logits [T or 1, vocab] (null if lowerOnly); advances pos. */
async function step(state: DecodeState, ids: Int32Array, options: StepOptions = {}): Promise<Tensor | null> {
  const { config, weights } = state.model;
  const hooks: DecodeHooks = { pos: state.pos, swaCache: (p, w) => state.ringBuffer(p, w), setSwaCache: (p, c) => state.replaceRing(p, c) };
  const ctx: ForwardContext = { config, weights, decode: hooks, record: options.record };
  const views = [state.store.view()];
  const st: LayerState = { x: embedding(weights.get('backbone.embeddings.weight'), ids), mem: views[0], ret: null, group: 0 };
  const chunking = chunkingStep(state, views);
  try {
    const kinds = layerKinds(config);
    const T = ids.length;
    const end = options.lowerOnly ? kinds.indexOf('ChunkingLayer') + 1 : kinds.length;
    for (let i = 0; i < end; i++) {
      if (kinds[i] === 'HierarchicalSparseAttention' && st.mem?.host && st.ret) await hostHsaLayer(ctx, st, i, st.mem.host);
      else layerForward(ctx, st, i, kinds[i], chunking);
    }
    if (state.store instanceof HostChunkStore) await state.store.settle();
    if (options.lowerOnly) {
      state.pos += T;
      return null;
    }
    if (options.lastOnly && T > 1) {
      const last = sliceCopy(st.x, 0, T - 1, T);
      st.x.dispose();
      st.x = last;
    }
    const logits = outputHead(ctx, st.x);
    state.pos += T;
    return logits;
  } finally {
    st.x.dispose();
    if (st.ret) for (const t of [st.ret.idx, st.ret.w]) t.dispose();
    for (const v of views) disposeMemory(v);
  }
}

export interface DecodeStepOptions {
  /** receives the step's intermediates under forward.ts's names (e.g. `retrieval{g}.indices` [1, Hk, k_eff]) */
  record?: Recorder;
}

/** Logits [1, vocab] of the next token `id` given the state; the state advances by one token. */
export async function decodeStep(id: number, state: DecodeState, options: DecodeStepOptions = {}): Promise<Tensor> {
  state.check();
  const logits = (await step(state, prepareIds(state.model.config, [id]), options))!;
  await state.model.backend.sync();
  return logits;
}

export interface PrefillOptions {
  /** tokens per segment (default: the config's inference_segment, 16384 unless set) */
  segment?: number;
  /** 'all' (default): logits [T, vocab]; 'last': only the last token's, [1, vocab] (what generation needs) */
  logits?: 'all' | 'last';
  /** called after each segment with tokens done and total */
  onProgress?: (done: number, total: number) => void;
  /** checked between segments: an abort leaves the state at the last completed segment */
  signal?: AbortSignal;
  /** receives the last segment's intermediates (forward.ts names) */
  record?: Recorder;
  /**
   * With logits 'last' (default true there): the lazy upper decoder (hsa-spec.md §9): the upper
   * layers run only on the last tokens whose states can still matter (upperSpan), exactly.
   */
  lazy?: boolean;
  /**
   * For a prompt fed in several prefill calls: the absolute position of the whole prompt's last
   * token; the lazy rule then applies to the whole prompt (calls ending before its window run
   * only the lower decoder, and return no logits: null).
   */
  promptEnd?: number;
}

/**
 * Tokens the upper decoder must see before a position for its states there to be exact: every upper
 * SWA module (each group's own HSA-layer SWA unless hsa_only, and its R SWA layers) extends the
 * dependency by its window; retrieval and HSA read only the lower decoder's memory.
 */
export function upperSpan(config: HsaConfig): number {
  const own = config.hsaOnly ? 0 : (config.hsaSlidingWindow ?? config.slidingWindow);
  return config.numUpperGroups * (own + config.layersPerGroup * config.slidingWindow);
}

/**
 * Feeds ids [T] into the state in segments, each one cached forward pass (§4) → logits [T, vocab]
 * (or [1, vocab]); null only when `promptEnd` says the upper decoder is not needed for these tokens.
 */
export async function prefill(ids: ArrayLike<number>, state: DecodeState, options: PrefillOptions & { promptEnd: number }): Promise<Tensor | null>;
export async function prefill(ids: ArrayLike<number>, state: DecodeState, options?: PrefillOptions): Promise<Tensor>;
export async function prefill(ids: ArrayLike<number>, state: DecodeState, options: PrefillOptions = {}): Promise<Tensor | null> {
  state.check();
  const seg = options.segment ?? state.model.config.inferenceSegment;
  if (!Number.isInteger(seg) || seg < 1) throw new ArgumentError(`prefill: segment must be a positive integer, got ${seg}`);
  const checked = prepareIds(state.model.config, ids);
  if (checked.length === 0) throw new ArgumentError('prefill: no tokens');
  const lastOnly = options.logits === 'last';
  const promptLast = options.promptEnd ?? state.pos + checked.length - 1;
  if (options.promptEnd !== undefined && (!lastOnly || promptLast < state.pos + checked.length - 1)) {
    throw new ArgumentError(`prefill: promptEnd ${promptLast} needs logits 'last' and must not precede this call's last token (${state.pos + checked.length - 1})`);
  }
  // positions before `start` never influence the upper states at the end (nor the ring buffers kept)
  const lazyStart = Math.max(0, promptLast - upperSpan(state.model.config) - state.pos);
  const start = lastOnly && options.lazy !== false ? Math.min(lazyStart, checked.length) : 0;
  const parts: Tensor[] = [];
  try {
    for (let t = 0; t < checked.length; ) {
      throwIfAborted(options.signal, 'prefill');
      const end = Math.min(t + seg, t < start ? start : checked.length);
      const last = end === checked.length;
      const out = await step(state, checked.subarray(t, end), { lastOnly, lowerOnly: end <= start, record: last ? options.record : undefined });
      if (out) {
        if (lastOnly) for (const r of parts.splice(0)) r.dispose();
        parts.push(out);
      }
      await state.model.backend.sync();
      options.onProgress?.(end, checked.length);
      t = end;
    }
    if (parts.length === 0) return null;
    return parts.length === 1 ? parts.splice(0)[0] : concat(parts, 0);
  } finally {
    for (const r of parts) r.dispose();
  }
}
