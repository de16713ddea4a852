// Hugging Face BPE over characters (the Rust `BPE::merge_word`): SentencePiece-style models with
// byte_fallback and unk, continuing_subword_prefix / end_of_word_suffix, and byte-level models that
// the byte fast path cannot take. With `byteLevel` the piece is first mapped byte → char (GPT-2).
import { binaryToByteLevel } from '../byte-level.js';
import { toBinary } from '../utf8.js';
import { mergeIds } from './merge.js';
import type { Model } from './model.js';
import type { PairTable } from './pair-table.js';

const CACHE_LIMIT = 50_000;

/** Options of a character-level BPE model, from tokenizer.json's `model`. */
export interface CharBpeOptions {
  vocab: Map<string, number>;
  table: PairTable;
  unkId: number | null;
  fuseUnk: boolean;
  byteFallback: boolean;
  prefix: string;
  suffix: string;
  ignoreMerges: boolean;
  byteLevel: boolean;
}

/** A character-level BPE model (see file header). */
export class CharBpe implements Model {
  readonly unit: 'byte' | 'utf16';
  private readonly fallback = new Int32Array(256).fill(-1);
  private cache = new Map<string, Int32Array>();

  constructor(private readonly o: CharBpeOptions) {
    this.unit = o.byteLevel ? 'byte' : 'utf16';
    for (let b = 0; b < 256; b++) {
      this.fallback[b] = o.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
    }
  }

  encode(piece: string, ids: number[], lens?: number[]): void {
    const word = this.o.byteLevel ? binaryToByteLevel(toBinary(piece)) : piece;
    if (this.o.ignoreMerges) {
      const id = this.o.vocab.get(word);
      if (id !== undefined) {
        ids.push(id);
        lens?.push(word.length);
        return;
      }
    }
    let r = this.cache.get(word);
    if (r === undefined) {
      r = this.mergeWord(word);
      if (word.length <= 256) {
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, r);
      }
    }
    const n = r.length >> 1;
    for (let i = 0; i < n; i++) ids.push(r[i]);
    if (lens !== undefined) for (let i = 0; i < n; i++) lens.push(r[n + i]);
  }

  /** Initial symbols as in Rust's merge_word, then the merge loop; returns [ids..., lens...]. */
  private mergeWord(w: string): Int32Array {
    const o = this.o;
    const ids: number[] = [];
    const lens: number[] = [];
    let unk = -1;
    let unkLen = 0;
    const flushUnk = () => {
      if (unk >= 0) {
        ids.push(unk);
        lens.push(unkLen);
        unk = -1;
      }
    };
    const chars = Array.from(w);
    chars.forEach((ch, i) => {
      const s = (i > 0 ? o.prefix : '') + ch + (i === chars.length - 1 ? o.suffix : '');
      const id = o.vocab.get(s);
      if (id !== undefined) {
        flushUnk();
        ids.push(id);
        lens.push(ch.length);
        return;
      }
      if (o.byteFallback && this.pushBytes(s, ch.length, ids, lens)) return;
      if (o.unkId === null) return; // no unk token: the char is dropped, as in Rust
      if (unk >= 0 && o.fuseUnk) unkLen += ch.length;
      else {
        flushUnk();
        unk = o.unkId;
        unkLen = ch.length;
      }
    });
    flushUnk();
    const n0 = ids.length;
    const idBuf = Int32Array.from(ids);
    const lenBuf = Int32Array.from(lens);
    const n = mergeIds(o.table, idBuf, n0, lenBuf);
    const out = new Int32Array(2 * n);
    out.set(idBuf.subarray(0, n));
    out.set(lenBuf.subarray(0, n), n);
    return out;
  }

  /** Byte-fallback tokens for `s` (the whole char gets the first token's length); false if one is missing. */
  private pushBytes(s: string, len: number, ids: number[], lens: number[]): boolean {
    const bin = toBinary(s);
    for (let i = 0; i < bin.length; i++) if (this.fallback[bin.charCodeAt(i)] < 0) return false;
    // As in Rust, a pending unk is not flushed here: it lands after these byte tokens.
    for (let i = 0; i < bin.length; i++) {
      ids.push(this.fallback[bin.charCodeAt(i)]);
      lens.push(i === 0 ? len : 0);
    }
    return true;
  }

  clearCache(): void {
    this.cache.clear();
  }
}
