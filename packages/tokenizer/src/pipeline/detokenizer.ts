// Ids → text for both formats. Hugging Face: id → token string (added tokens first), drop the
// special ones if asked, run the decoder chain (Rust: tokens joined by spaces when there is none).
// tiktoken: id → bytes, lossy UTF-8. Invalid UTF-8 never throws: it becomes U+FFFD.
import { binaryToBytes } from '../utf8.js';
import { byteLevelTokenBytes, type Decoder } from './decoders.js';

/** Turns ids back into text; `tokenBytes` is set when the text is the lossy UTF-8 of the concatenated token bytes. */
export interface Detokenizer {
  decode(ids: ArrayLike<number>, skipSpecial: boolean): string;
  tokenBytes: ((id: number) => Uint8Array | undefined) | null;
  isSpecial(id: number): boolean;
}

const lossy = new TextDecoder('utf-8', { ignoreBOM: true });

/** Hugging Face detokenizer over token strings and a decoder chain. */
export function hfDetokenizer(
  tokens: readonly (string | undefined)[],
  special: ReadonlySet<number>,
  decoder: Decoder | null,
  byteExact: boolean,
): Detokenizer {
  const strings = (ids: ArrayLike<number>, skip: boolean) => {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const t = tokens[ids[i]];
      if (t !== undefined && !(skip && special.has(ids[i]))) out.push(t); // unknown ids are skipped, as in Rust
    }
    return out;
  };
  return {
    decode: (ids, skip) => {
      const t = strings(ids, skip);
      return decoder === null ? t.join(' ') : decoder(t).join('');
    },
    tokenBytes: byteExact ? (id) => (tokens[id] === undefined ? undefined : byteLevelTokenBytes(tokens[id]!)) : null,
    isSpecial: (id) => special.has(id),
  };
}

/** tiktoken detokenizer: binary-string tokens by rank; specials by id. */
export function tiktokenDetokenizer(tokens: readonly (string | undefined)[], specials: ReadonlyMap<number, string>): Detokenizer {
  const enc = new TextEncoder();
  const bytesOf = (id: number): Uint8Array | undefined => {
    const t = tokens[id];
    if (t !== undefined) return binaryToBytes(t);
    const s = specials.get(id);
    return s === undefined ? undefined : enc.encode(s);
  };
  return {
    decode: (ids, skip) => {
      let bin = '';
      for (let i = 0; i < ids.length; i++) {
        const t = tokens[ids[i]];
        if (t !== undefined) bin += t;
        else if (!skip && specials.has(ids[i])) bin += String.fromCharCode(...enc.encode(specials.get(ids[i])!));
      }
      return lossy.decode(binaryToBytes(bin));
    },
    tokenBytes: bytesOf,
    isSpecial: (id) => specials.has(id),
  };
}
