// The BPE merge loop shared by Hugging Face BPE and tiktoken ranks: repeatedly merge the adjacent
// pair with the lowest rank, leftmost first, until no adjacent pair has a rank. This is the order of
// both the Rust `tokenizers` Word::merge_all (heap of (rank, pos)) and tiktoken's byte_pair_merge.
// v1: O(n²) scan with cached per-position ranks for short words (the common case, < 64 symbols);
// v2: binary heap over a linked list for long words (whitespace runs, SentencePiece whole lines).
import type { PairTable } from './pair-table.js';

const SHORT = 64;
const NONE = 0x7fffffff;
const rankBuf = new Int32Array(SHORT);

/** Merges `ids[0..n)` in place; returns the new length. `lens`, when given, is merged alongside. */
export function mergeIds(table: PairTable, ids: Int32Array, n: number, lens?: Int32Array): number {
  if (n < 2) return n;
  return n <= SHORT ? mergeShort(table, ids, n, lens) : mergeLong(table, ids, n, lens);
}

function pairRank(table: PairTable, a: number, b: number): number {
  const slot = table.find(a, b);
  return slot < 0 ? NONE : table.ranks[slot];
}

function mergeShort(table: PairTable, ids: Int32Array, n: number, lens?: Int32Array): number {
  const r = rankBuf;
  for (let i = 0; i < n - 1; i++) r[i] = pairRank(table, ids[i], ids[i + 1]);
  for (;;) {
    let best = NONE;
    let at = -1;
    for (let i = 0; i < n - 1; i++) {
      if (r[i] < best) {
        best = r[i];
        at = i;
      }
    }
    if (at < 0) return n;
    ids[at] = table.results[table.find(ids[at], ids[at + 1])];
    if (lens !== undefined) lens[at] += lens[at + 1];
    for (let i = at + 1; i < n - 1; i++) {
      ids[i] = ids[i + 1];
      r[i] = r[i + 1];
      if (lens !== undefined) lens[i] = lens[i + 1];
    }
    n--;
    if (at > 0) r[at - 1] = pairRank(table, ids[at - 1], ids[at]);
    if (at < n - 1) r[at] = pairRank(table, ids[at], ids[at + 1]);
  }
}

/** Min-heap of numbers rank·2^26 + pos: the lowest rank first, then the leftmost position. */
class Heap {
  data: Float64Array;
  size = 0;
  constructor(cap: number) {
    this.data = new Float64Array(Math.max(cap, 16));
  }
  push(v: number): void {
    if (this.size === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    const d = this.data;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (d[p] <= v) break;
      d[i] = d[p];
      i = p;
    }
    d[i] = v;
  }
  pop(): number {
    const d = this.data;
    const top = d[0];
    const last = d[--this.size];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.size) break;
      if (c + 1 < this.size && d[c + 1] < d[c]) c++;
      if (d[c] >= last) break;
      d[i] = d[c];
      i = c;
    }
    d[i] = last;
    return top;
  }
}

const POS = 2 ** 26;

function mergeLong(table: PairTable, ids: Int32Array, n: number, lens?: Int32Array): number {
  if (n >= POS) throw new RangeError(`BPE word of ${n} symbols is longer than ${POS}`);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const heap = new Heap(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
    if (i + 1 < n) {
      const rk = pairRank(table, ids[i], ids[i + 1]);
      if (rk !== NONE) heap.push(rk * POS + i);
    }
  }
  while (heap.size > 0) {
    const top = heap.pop();
    const pos = top % POS;
    const rank = (top - pos) / POS;
    const nx = next[pos];
    if (ids[pos] < 0 || nx < 0) continue; // removed, or now the last symbol
    const slot = table.find(ids[pos], ids[nx]);
    if (slot < 0 || table.ranks[slot] !== rank) continue; // stale entry
    ids[pos] = table.results[slot];
    if (lens !== undefined) lens[pos] += lens[nx];
    ids[nx] = -1;
    next[pos] = next[nx];
    if (next[nx] >= 0) prev[next[nx]] = pos;
    const pv = prev[pos];
    if (pv >= 0) {
      const rk = pairRank(table, ids[pv], ids[pos]);
      if (rk !== NONE) heap.push(rk * POS + pv);
    }
    if (next[pos] >= 0) {
      const rk = pairRank(table, ids[pos], ids[next[pos]]);
      if (rk !== NONE) heap.push(rk * POS + pos);
    }
  }
  let w = 0;
  for (let i = 0; i < n; i++) {
    if (ids[i] < 0) continue;
    ids[w] = ids[i];
    if (lens !== undefined) lens[w] = lens[i];
    w++;
  }
  return w;
}

let scratchBuf = new Int32Array(256);

/** Scratch buffer for merge inputs, grown on demand (single-threaded JS: one is enough). */
export function scratch(n: number): Int32Array {
  if (scratchBuf.length < n) scratchBuf = new Int32Array(Math.max(n, scratchBuf.length * 2));
  return scratchBuf;
}
