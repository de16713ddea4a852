/**
 * Generation: the prompt is prefilled in segments (only the last token's logits are computed), then
 * one token per step is sampled on the device (greedy, temperature, top-k, top-p; a seeded host RNG
 * draws one uniform per step) and fed back through decodeStep. Tokens stream out of an async
 * iterator with their text (through the tokenizer's streaming decoder) as soon as they exist; stop
 * tokens, stop sequences, maxNewTokens and an AbortSignal end it. The DecodeState can be passed in and
 * kept: the last sampled token, not yet fed, waits in `state.pending` for the next call.
 */
import { TOPK_MAX_K } from '@hsa/kernels';
import { AbortedError, ArgumentError, argmax, Rng, sample, type Tensor } from '@hsa/tensor';
import { createDecodeState, type DecodeState, decodeStep, prefill } from '../decode.js';
import type { HsaModel } from '../model.js';
import { type RetrievalStep, RetrievalTap } from './retrieval.js';
import { StopMatcher } from './stop.js';

/** What generation needs of a tokenizer (`@hsa/tokenizer`'s Tokenizer has it). */
export interface TextStreamSource {
  createStreamDecoder(): { push(id: number): string; flush(): string };
}

export interface GenerateOptions {
  /** tokens to generate at most (default 128) */
  maxNewTokens?: number;
  /** 0 (default) is greedy argmax; > 0 samples softmax(logits / temperature) */
  temperature?: number;
  /** candidates kept when sampling (default min(vocab, 256): the sampler ranks at most 256) */
  topK?: number;
  /** nucleus mass in (0, 1] (default 1) */
  topP?: number;
  /** seeds the sampler (default: a random seed, reported in the result) */
  seed?: number;
  /** ids that end the generation (default: the config's eos_token_id); the stop token is yielded */
  stopTokens?: readonly number[];
  /** strings that end the generation; they and what follows are not part of the text (needs `tokenizer`) */
  stop?: readonly string[];
  /** turns ids into streamed text; without it tokens carry text '' */
  tokenizer?: TextStreamSource;
  /** stops between steps with an E_ABORTED error; the state stays consistent and can continue */
  signal?: AbortSignal;
  /** a state to continue (its pending token is fed first); default: a fresh one, disposed at the end */
  state?: DecodeState;
  /** where a fresh state keeps chunk K/V: 'device' (default) or 'host' (see DecodeStateOptions) */
  memory?: 'device' | 'host';
  /** prefill segment length (default: the config's inference_segment) */
  segment?: number;
  /** prefill progress: tokens done of total */
  onPrefill?: (done: number, total: number) => void;
  /** each generated token's retrieval (chunks and fusion weights per HSA layer); costs a readback per step */
  onRetrieval?: (step: RetrievalStep) => void;
}

export interface GeneratedToken {
  id: number;
  /** 0-based index among the generated tokens */
  index: number;
  /** text released with this token (may be '' while bytes or a possible stop sequence are held back) */
  text: string;
}

export type FinishReason = 'length' | 'stop-token' | 'stop-sequence';

export interface GenerationResult {
  ids: number[];
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  seed: number;
  prefillMs: number;
  decodeMs: number;
}

interface Checked {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  stopTokens: Set<number>;
  stop: readonly string[];
}

function checkOptions(model: HsaModel, o: GenerateOptions): Checked {
  const vocab = model.config.vocabSize;
  const maxNewTokens = o.maxNewTokens ?? 128;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new ArgumentError(`generate: maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  const temperature = o.temperature ?? 0;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new ArgumentError(`generate: temperature must be a finite number ≥ 0, got ${temperature}`);
  const topK = o.topK ?? Math.min(vocab, TOPK_MAX_K);
  if (!Number.isInteger(topK) || topK < 1 || topK > Math.min(vocab, TOPK_MAX_K)) {
    throw new ArgumentError(`generate: topK must be an integer in [1, ${Math.min(vocab, TOPK_MAX_K)}], got ${topK}`);
  }
  const topP = o.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new ArgumentError(`generate: topP must be in (0, 1], got ${topP}`);
  const stop = o.stop ?? [];
  if (stop.length > 0 && !o.tokenizer) throw new ArgumentError('generate: stop sequences need a tokenizer (pass options.tokenizer)');
  if (stop.some((s) => typeof s !== 'string' || s.length === 0)) throw new ArgumentError('generate: stop sequences must be non-empty strings');
  const stopTokens = new Set(o.stopTokens ?? model.config.eosTokenIds);
  for (const id of stopTokens) if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new ArgumentError(`generate: stop token ${id} is outside [0, ${vocab})`);
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
  if (!Number.isInteger(seed)) throw new ArgumentError(`generate: seed must be an integer, got ${seed}`);
  return { maxNewTokens, temperature, topK, topP, seed, stopTokens, stop };
}

/** The next id from logits [1, vocab] (disposes them). */
async function pick(logits: Tensor, c: Checked, rng: Rng): Promise<number> {
  const u = Math.min(rng.next(), 1 - 2 ** -24);
  const t = c.temperature === 0 ? argmax(logits) : sample(logits, { temperature: c.temperature, topK: c.topK, topP: c.topP, uniform: [u] });
  logits.dispose();
  try {
    return (await t.data())[0];
  } finally {
    t.dispose();
  }
}

/** A prompt too long to hold as one array: its exact length and its tokens in pieces (e.g. @hsa/tasks' Sample.pieces). */
export interface StreamedPrompt {
  length: number;
  pieces(): Iterable<ArrayLike<number>>;
}

const isStreamed = (p: ArrayLike<number> | StreamedPrompt): p is StreamedPrompt => typeof (p as StreamedPrompt).pieces === 'function';

/**
 * The tokens of `head` then `rest` regrouped into arrays of `size` (the last one shorter): a stream's
 * pieces are often a line or a paragraph long, and each prefill call is at least one pass through
 * every layer, so feeding them one by one would cost a pass per line.
 */
export function* segments(head: Iterable<ArrayLike<number>>, rest: Iterable<ArrayLike<number>>, size: number): Generator<Int32Array> {
  let buf = new Int32Array(size);
  let n = 0;
  for (const src of [head, rest]) {
    for (const piece of src) {
      for (let i = 0; i < piece.length; ) {
        const take = Math.min(size - n, piece.length - i);
        if (ArrayBuffer.isView(piece)) buf.set((piece as Int32Array).subarray(i, i + take), n);
        else for (let j = 0; j < take; j++) buf[n + j] = piece[i + j];
        n += take;
        i += take;
        if (n === size) {
          yield buf;
          buf = new Int32Array(size);
          n = 0;
        }
      }
    }
  }
  if (n > 0) yield buf.subarray(0, n);
}

/**
 * Prefill of the state's pending tokens + the prompt, in segments under one lazy-prefill plan
 * (promptEnd). An abort leaves the state after its last fed segment; for an array prompt the tokens
 * not yet fed go back to `pending`, a stream's rest stays the caller's.
 */
async function feedPrompt(state: DecodeState, prompt: ArrayLike<number> | StreamedPrompt, o: GenerateOptions, tap: RetrievalTap | null): Promise<{ logits: Tensor; fed: number }> {
  const pending = state.pending;
  const whole = isStreamed(prompt) ? null : [...pending, ...Array.from(prompt)];
  const total = whole ? whole.length : pending.length + (prompt as StreamedPrompt).length;
  if (total === 0) throw new ArgumentError('generate: nothing to continue from (empty prompt and no pending token in the state)');
  const seg = o.segment ?? state.model.config.inferenceSegment;
  const pieces: Iterable<ArrayLike<number>> = whole ? [whole] : segments([pending], (prompt as StreamedPrompt).pieces(), seg);
  const promptEnd = state.pos + total - 1;
  const pos0 = state.pos;
  state.pending = [];
  let logits: Tensor | null = null;
  try {
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      const last = state.pos + piece.length - 1 === promptEnd;
      const before = state.pos - pos0;
      const onProgress = o.onPrefill ? (d: number) => o.onPrefill?.(before + d, total) : undefined;
      const out = await prefill(piece, state, { logits: 'last', promptEnd, segment: o.segment, onProgress, signal: o.signal, record: last ? tap?.recorder() : undefined });
      logits?.dispose();
      logits = out;
    }
  } catch (e) {
    logits?.dispose();
    if (whole) state.pending = whole.slice(state.pos - pos0);
    throw e;
  }
  if (state.pos !== promptEnd + 1 || !logits) {
    logits?.dispose();
    throw new ArgumentError(`generate: the streamed prompt yielded ${state.pos - pos0 - pending.length} tokens, not its length ${total - pending.length}`);
  }
  return { logits, fed: total };
}

/**
 * Generates up to maxNewTokens after `prompt` (ids), streaming each token; the generator's return
 * value is the GenerationResult (use generateText to get it directly).
 */
export async function* generate(model: HsaModel, prompt: ArrayLike<number> | StreamedPrompt, options: GenerateOptions = {}): AsyncGenerator<GeneratedToken, GenerationResult> {
  const c = checkOptions(model, options);
  const state = options.state ?? createDecodeState(model, { memory: options.memory });
  state.check();
  const rng = new Rng(c.seed);
  const text = options.tokenizer?.createStreamDecoder();
  const stops = new StopMatcher(c.stop);
  const tap = options.onRetrieval ? new RetrievalTap(model.config) : null;
  const ids: number[] = [];
  let out = '';
  const t0 = performance.now();
  try {
    let { logits, fed } = await feedPrompt(state, prompt, options, tap);
    const t1 = performance.now();
    let finishReason: FinishReason = 'length';
    for (let i = 0; ; i++) {
      if (tap && options.onRetrieval) options.onRetrieval(await tap.take(i, state.pos - 1));
      const id = await pick(logits, c, rng);
      ids.push(id);
      state.pending = [id];
      const piece = stops.push(text ? text.push(id) : '');
      const last = piece.stopped || c.stopTokens.has(id) || i + 1 === c.maxNewTokens;
      const tail = last && !piece.stopped ? stops.push(text?.flush() ?? '').text + stops.flush() : '';
      out += piece.text + tail;
      yield { id, index: i, text: piece.text + tail };
      if (last) {
        finishReason = piece.stopped ? 'stop-sequence' : c.stopTokens.has(id) ? 'stop-token' : 'length';
        break;
      }
      if (options.signal?.aborted) throw new AbortedError(`generate: aborted after ${ids.length} tokens`, { cause: options.signal.reason });
      state.pending = [];
      logits = await decodeStep(id, state, { record: tap?.recorder() }).catch((e) => {
        state.pending = [id];
        throw e;
      });
    }
    return { ids, text: out, finishReason, promptTokens: fed, seed: c.seed, prefillMs: t1 - t0, decodeMs: performance.now() - t1 };
  } finally {
    tap?.dispose();
    if (!options.state) state.dispose();
  }
}

/** Runs generate to the end → the result (tokens are not streamed). */
export async function generateText(model: HsaModel, prompt: ArrayLike<number> | StreamedPrompt, options: GenerateOptions = {}): Promise<GenerationResult> {
  const it = generate(model, prompt, options);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}
