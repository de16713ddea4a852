// The public Tokenizer: added/special tokens first, then the segment pipeline, then the template
// ids (BOS/EOS). Built by `fromTokenizerJson` (Hugging Face) or `fromTiktoken` (rank files).
import type { Model } from './bpe/model.js';
import { TokenizerError } from './errors.js';
import type { AddedToken, AddedTokenMatcher } from './pipeline/added-tokens.js';
import type { Detokenizer } from './pipeline/detokenizer.js';
import { encodeSegment, type SegmentEncoder, type Sink } from './pipeline/encode.js';
import type { PostProcessor } from './pipeline/post-processor.js';
import { createStreamDecoder, type StreamDecoder } from './stream.js';
import { toWellFormed } from './utf8.js';

/** Options of `encode`. */
export interface EncodeOptions {
  /** Add the post-processor's ids (BOS/EOS). Default: true for tokenizer.json, false for tiktoken. */
  addSpecialTokens?: boolean;
  /**
   * Which special tokens in the text are matched as such: 'all' or a list of their strings.
   * Default: all for tokenizer.json (as the Rust library does), none for tiktoken (they are then
   * encoded as plain text, like tiktoken's encode_ordinary).
   */
  allowedSpecial?: 'all' | 'none' | Iterable<string>;
}

/** Options of `decode`. */
export interface DecodeOptions {
  /** Drop special tokens (BOS/EOS, ...) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** Ids with the [start, end) UTF-16 range of each token in the input (BOS/EOS get [0, 0]). */
export interface Encoding {
  ids: number[];
  offsets: [number, number][];
}

/** Internal parts of a tokenizer; see load/huggingface.ts and load/tiktoken-tokenizer.ts. */
export interface TokenizerParts {
  format: 'huggingface' | 'tiktoken';
  added: readonly AddedToken[];
  matcher: AddedTokenMatcher;
  segment: SegmentEncoder;
  post: PostProcessor;
  detokenizer: Detokenizer;
  vocab: Map<string, number>;
  idToToken: (id: number) => string | undefined;
}

/** A loaded tokenizer: encode, decode, offsets, batches and streaming decode. */
export class Tokenizer {
  /** Which file format it was loaded from. */
  readonly format: 'huggingface' | 'tiktoken';
  private readonly p: TokenizerParts;
  private readonly specialContents: Map<string, AddedToken>;

  constructor(parts: TokenizerParts) {
    this.p = parts;
    this.format = parts.format;
    this.specialContents = new Map(parts.added.filter((t) => t.special).map((t) => [t.content, t]));
  }

  /** Encodes text to ids. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const sink: Sink = { ids: [], offsets: null };
    this.run(text, options, sink);
    return sink.ids;
  }

  /** Encodes text to ids plus each token's [start, end) UTF-16 range in `text`. */
  encodeWithOffsets(text: string, options: EncodeOptions = {}): Encoding {
    const sink: Sink = { ids: [], offsets: [] };
    this.run(text, options, sink);
    const offsets: [number, number][] = [];
    for (let i = 0; i < sink.offsets!.length; i += 2) offsets.push([sink.offsets![i], sink.offsets![i + 1]]);
    return { ids: sink.ids, offsets };
  }

  /** Encodes several texts. */
  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): number[][] {
    return texts.map((t) => this.encode(t, options));
  }

  /** Decodes ids to text; invalid UTF-8 becomes U+FFFD, unknown ids are skipped. Never throws on ids. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    return this.p.detokenizer.decode(ids, options.skipSpecialTokens === true);
  }

  /** Decodes several id sequences. */
  decodeBatch(batch: readonly ArrayLike<number>[], options: DecodeOptions = {}): string[] {
    return batch.map((ids) => this.decode(ids, options));
  }

  /** A decoder for generation: push ids one at a time, get text at valid UTF-8 boundaries. */
  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    return createStreamDecoder(this.p.detokenizer, options.skipSpecialTokens === true);
  }

  /** Id of a token string (model vocab or added token), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.p.vocab.get(token) ?? this.p.added.find((t) => t.content === token)?.id;
  }

  /** Token string of an id (tiktoken: its bytes as latin-1), or undefined. */
  idToToken(id: number): string | undefined {
    return this.p.idToToken(id);
  }

  /** Number of ids: one past the largest id of the vocab and the added/special tokens. */
  get vocabSize(): number {
    let max = -1;
    for (const id of this.p.vocab.values()) if (id > max) max = id;
    for (const t of this.p.added) if (t.id > max) max = t.id;
    return max + 1;
  }

  /** Added and special tokens, as declared. */
  get addedTokens(): readonly AddedToken[] {
    return this.p.added;
  }

  /** Frees the word caches (they refill as text is encoded). */
  clearCache(): void {
    this.p.segment.model.clearCache();
  }

  private skipper(options: EncodeOptions): ((t: AddedToken) => boolean) | undefined {
    const allowed = options.allowedSpecial ?? (this.format === 'tiktoken' ? 'none' : 'all');
    if (allowed === 'all') return undefined;
    if (allowed === 'none') return (t) => t.special;
    const set = new Set(allowed);
    for (const s of set) {
      if (!this.specialContents.has(s)) throw new TokenizerError('E_BAD_INPUT', `allowedSpecial: ${JSON.stringify(s)} is not a special token`);
    }
    return (t) => t.special && !set.has(t.content);
  }

  private run(text: string, options: EncodeOptions, sink: Sink): void {
    if (typeof text !== 'string') throw new TokenizerError('E_BAD_INPUT', `text: expected a string, got ${typeof text}`);
    const input = toWellFormed(text);
    const addSpecial = options.addSpecialTokens ?? this.format === 'huggingface';
    if (addSpecial) this.pushSpecial(this.p.post.before, sink);
    const cuts = this.p.matcher.cut(input, this.skipper(options));
    if (cuts === null) encodeSegment(this.p.segment, { text: input, base: 0, map: null }, sink);
    else {
      for (const c of cuts) {
        if (c.id >= 0) {
          sink.ids.push(c.id);
          sink.offsets?.push(c.start, c.end);
        } else encodeSegment(this.p.segment, { text: input.slice(c.start, c.end), base: c.start, map: null }, sink);
      }
    }
    if (addSpecial) this.pushSpecial(this.p.post.after, sink);
  }

  private pushSpecial(ids: number[], sink: Sink): void {
    for (const id of ids) {
      sink.ids.push(id);
      sink.offsets?.push(0, 0);
    }
  }
}

/** The model of a tokenizer, for tests and tools that inspect it. */
export type { Model };
