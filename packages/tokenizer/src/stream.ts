// Streaming decode for token-by-token generation: text is emitted only at valid UTF-8 boundaries.
// Byte-exact formats (tiktoken, ByteLevel): token bytes go through a streaming TextDecoder.
// Others (Metaspace, ByteFallback, ...): the Rust `DecodeStream` algorithm: decode a short window
// of ids, emit the new suffix once it does not end in U+FFFD.
import type { Detokenizer } from './pipeline/detokenizer.js';

/** Incremental decoder returned by `Tokenizer.createStreamDecoder`. */
export interface StreamDecoder {
  /** Feeds one id; returns the text that became complete (possibly ''). */
  push(id: number): string;
  /** Ends the stream; returns what was held back (an incomplete sequence becomes U+FFFD). */
  flush(): string;
}

/** Builds a stream decoder over a detokenizer. */
export function createStreamDecoder(d: Detokenizer, skipSpecial: boolean): StreamDecoder {
  const bytesOf = d.tokenBytes;
  if (bytesOf !== null) {
    const td = new TextDecoder('utf-8', { ignoreBOM: true });
    return {
      push: (id) => {
        if (skipSpecial && d.isSpecial(id)) return '';
        const b = bytesOf(id);
        return b === undefined ? '' : td.decode(b, { stream: true });
      },
      flush: () => td.decode(),
    };
  }
  let ids: number[] = [];
  let prefix = '';
  let prefixIndex = 0;
  return {
    push: (id) => {
      ids.push(id);
      const text = d.decode(ids, skipSpecial);
      if (text.length <= prefix.length || text.endsWith('\uFFFD')) return '';
      const out = text.slice(prefix.length);
      ids = ids.slice(prefixIndex);
      prefix = d.decode(ids, skipSpecial);
      prefixIndex = ids.length;
      return out;
    },
    flush: () => {
      const text = d.decode(ids, skipSpecial);
      const out = text.length > prefix.length ? text.slice(prefix.length) : '';
      ids = [];
      prefix = '';
      prefixIndex = 0;
      return out;
    },
  };
}
