// Open-addressing hash map (a, b) → (rank, result) over typed arrays: the BPE merge table.
// Keys are token ids; linear probing; capacity a power of two at most ~70% full.
// Compact (16 bytes a slot) and free of the boxed-number keys a Map<number> would need past 2^31.

/** (left id, right id) → merge rank and merged id. */
export class PairTable {
  private keyA: Int32Array;
  private keyB: Int32Array;
  /** Rank of the merge in each slot (lower merges first). */
  readonly ranks: Int32Array;
  /** Id produced by the merge in each slot. */
  readonly results: Int32Array;
  private mask: number;
  size = 0;

  constructor(expected: number) {
    let cap = 16;
    while (cap * 0.7 < expected) cap *= 2;
    this.keyA = new Int32Array(cap).fill(-1);
    this.keyB = new Int32Array(cap);
    this.ranks = new Int32Array(cap);
    this.results = new Int32Array(cap);
    this.mask = cap - 1;
  }

  private static hash(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 12);
  }

  /** Slot holding (a, b), or -1. */
  find(a: number, b: number): number {
    const keyA = this.keyA;
    let i = PairTable.hash(a, b) & this.mask;
    for (;;) {
      const k = keyA[i];
      if (k === a && this.keyB[i] === b) return i;
      if (k === -1) return -1;
      i = (i + 1) & this.mask;
    }
  }

  /** Inserts or overwrites (a, b) → (rank, result); the caller sizes the table. */
  set(a: number, b: number, rank: number, result: number): void {
    let i = PairTable.hash(a, b) & this.mask;
    while (this.keyA[i] !== -1 && !(this.keyA[i] === a && this.keyB[i] === b)) i = (i + 1) & this.mask;
    if (this.keyA[i] === -1) this.size++;
    if (this.size > this.mask * 0.9) throw new RangeError('PairTable over capacity');
    this.keyA[i] = a;
    this.keyB[i] = b;
    this.ranks[i] = rank;
    this.results[i] = result;
  }
}
