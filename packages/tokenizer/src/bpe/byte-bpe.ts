// Byte-level BPE over UTF-8 bytes: GPT-2 / Llama-3 / Qwen tokenizer.json models and tiktoken ranks.
// The hot path is a Map lookup per pre-tokenized piece: first the whole-piece table (tiktoken, and
// Hugging Face's ignore_merges), then a bounded cache of earlier results; only new words run the
// merge loop.
import { mergeIds, scratch } from './merge.js';
import type { Model } from './model.js';
import type { PairTable } from './pair-table.js';

const CACHE_LIMIT = 100_000;
const encoder = new TextEncoder();
let bytesBuf = new Uint8Array(1024);

/** Inputs of a byte-level BPE model. */
export interface ByteBpeTables {
  /** Merge table over token ids. */
  table: PairTable;
  /** Id of each single byte 0..255. */
  byteIds: Int32Array;
  /** Whole-piece lookups (text of tokens whose bytes are valid UTF-8), or null to always merge. */
  direct: Map<string, number> | null;
  /** UTF-8 length of each token id, for offsets. */
  byteLen: Int32Array;
}

/** A byte-level BPE model (see file header). */
export class ByteBpe implements Model {
  readonly unit = 'byte' as const;
  private cache = new Map<string, number | Int32Array>();
  /** Id of each one-char ASCII piece (-1: not a token), so the commonest pieces skip hashing. */
  private readonly ascii = new Int32Array(128).fill(-1);

  constructor(readonly tables: ByteBpeTables) {
    for (let c = 0; c < 128; c++) this.ascii[c] = tables.byteIds[c];
  }

  encode(piece: string, ids: number[], lens?: number[]): void {
    if (piece.length === 1 && lens === undefined) {
      const c = piece.charCodeAt(0);
      if (c < 128 && this.ascii[c] >= 0) {
        ids.push(this.ascii[c]);
        return;
      }
    }
    let r: number | Int32Array | undefined = this.tables.direct?.get(piece);
    if (r === undefined) {
      r = this.cache.get(piece);
      if (r === undefined) {
        r = this.merge(piece);
        if (piece.length <= 256) {
          if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
          this.cache.set(piece, r);
        }
      }
    }
    if (typeof r === 'number') ids.push(r);
    else for (let i = 0; i < r.length; i++) ids.push(r[i]);
    if (lens !== undefined) {
      const bl = this.tables.byteLen;
      if (typeof r === 'number') lens.push(bl[r]);
      else for (let i = 0; i < r.length; i++) lens.push(bl[r[i]]);
    }
  }

  /** Runs the merge loop on the UTF-8 bytes of `piece`. */
  merge(piece: string): number | Int32Array {
    const { byteIds, table } = this.tables;
    let n = piece.length;
    let buf = scratch(n * 3);
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = piece.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      buf[i] = byteIds[c];
    }
    if (!ascii) {
      if (bytesBuf.length < n * 3) bytesBuf = new Uint8Array(n * 3);
      n = encoder.encodeInto(piece, bytesBuf).written!;
      buf = scratch(n);
      for (let i = 0; i < n; i++) buf[i] = byteIds[bytesBuf[i]];
    }
    n = mergeIds(table, buf, n);
    return n === 1 ? buf[0] : buf.slice(0, n);
  }

  clearCache(): void {
    this.cache.clear();
  }
}
