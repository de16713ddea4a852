// Builders of byte-level BPE tables: from tiktoken ranks (rank = id = merge priority) and from
// Hugging Face vocab + merges whose tokens are byte-level strings.
import { byteLevelToBinary } from '../byte-level.js';
import type { ByteBpeTables } from './byte-bpe.js';
import { PairTable } from './pair-table.js';

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Text of a binary-string token when its bytes are valid UTF-8, else undefined. */
export function utf8Text(bin: string): string | undefined {
  let ascii = true;
  for (let i = 0; i < bin.length && ascii; i++) ascii = bin.charCodeAt(i) < 0x80;
  if (ascii) return bin;
  const b = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
  try {
    return strict.decode(b);
  } catch {
    return undefined;
  }
}

function byteLens(tokens: readonly (string | undefined)[]): Int32Array {
  const out = new Int32Array(tokens.length);
  tokens.forEach((t, i) => {
    out[i] = t?.length ?? 0;
  });
  return out;
}

function directMap(tokens: readonly (string | undefined)[]): Map<string, number> {
  const direct = new Map<string, number>();
  tokens.forEach((bin, id) => {
    if (bin === undefined) return;
    const text = utf8Text(bin);
    if (text !== undefined) direct.set(text, id);
  });
  return direct;
}

/**
 * tiktoken: `tokens[id]` is the binary string of rank `id`. Every split of a token into two tokens
 * is a merge whose rank is the token's rank, which reproduces tiktoken's byte_pair_merge exactly.
 */
export function tablesFromRanks(tokens: readonly (string | undefined)[], byId: Map<string, number>): ByteBpeTables {
  let pairs = 0;
  for (const t of tokens) if (t !== undefined) pairs += t.length - 1;
  const table = new PairTable(Math.min(pairs, byId.size * 4));
  tokens.forEach((bin, id) => {
    if (bin === undefined || bin.length < 2) return;
    for (let k = 1; k < bin.length; k++) {
      const a = byId.get(bin.slice(0, k));
      if (a === undefined) continue;
      const b = byId.get(bin.slice(k));
      if (b !== undefined) table.set(a, b, id, id);
    }
  });
  const byteIds = new Int32Array(256).fill(-1);
  for (let b = 0; b < 256; b++) byteIds[b] = byId.get(String.fromCharCode(b)) ?? -1;
  return { table, byteIds, direct: directMap(tokens), byteLen: byteLens(tokens) };
}

/** Hugging Face byte-level BPE: vocab keys are GPT-2 byte-level strings; merges give the ranks. */
export function tablesFromMerges(
  binTokens: readonly (string | undefined)[],
  table: PairTable,
  ignoreMerges: boolean,
): ByteBpeTables | null {
  const byteIds = new Int32Array(256).fill(-1);
  const byBin = new Map<string, number>();
  binTokens.forEach((t, id) => {
    if (t !== undefined && !byBin.has(t)) byBin.set(t, id);
  });
  for (let b = 0; b < 256; b++) {
    const id = byBin.get(String.fromCharCode(b));
    if (id === undefined) return null; // incomplete byte alphabet: the char-level path handles it
    byteIds[b] = id;
  }
  return { table, byteIds, direct: ignoreMerges ? directMap(binTokens) : null, byteLen: byteLens(binTokens) };
}

/** Binary string of each vocab entry of a byte-level vocab (undefined outside the alphabet). */
export function binaryVocab(vocab: Map<string, number>, size: number): (string | undefined)[] {
  const out: (string | undefined)[] = new Array(size);
  for (const [tok, id] of vocab) if (out[id] === undefined) out[id] = byteLevelToBinary(tok);
  return out;
}
