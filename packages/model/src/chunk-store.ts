/**
 * The chunk memory of a decoding state, grown as chunks complete without re-copying it each time:
 * K/V live in blocks whose capacity doubles (one amortized copy per doubling) up to the largest
 * block one binding can hold; then a new block starts, and the HSA kernel reads the blocks as
 * memory parts. Landmarks [C, Hr, dr] grow the same way in one tensor. A view for a pass is a set of
 * leading-row views, valid until the next append.
 */
import { type Backend, copyInto, Tensor } from '@hsa/tensor';
import type { HsaConfig } from './config.js';
import type { ChunkMemory } from './layers/chunking-layer.js';

interface Block {
  k: Tensor;
  v: Tensor;
  /** chunks it can hold / holds */
  cap: number;
  used: number;
}

/** Capacity of a block (and of the landmarks) when first allocated, in chunks; the memory plan assumes it. */
export const FIRST_CAP = 16;

/** The most chunks one K (or V) block holds within a binding of `maxBindingBytes`. */
export function maxBlockChunks(config: HsaConfig, maxBindingBytes: number): number {
  const { chunkSize, kvHeads, headDim } = config;
  return Math.max(1, Math.floor(maxBindingBytes / (chunkSize * kvHeads * headDim * 4)));
}

export class ChunkStore {
  private blocks: Block[] = [];
  private lmk: Tensor | null = null;
  /** chunks stored */
  chunks = 0;
  /** the largest block (chunks) within one binding */
  readonly maxBlock: number;

  constructor(
    private readonly config: HsaConfig,
    private readonly backend: Backend,
  ) {
    this.maxBlock = maxBlockChunks(config, backend.maxBindingBytes);
  }

  /** Blocks holding K/V (the HSA kernel's memory parts). */
  get parts(): number {
    return this.blocks.length;
  }

  /** Appends fresh chunks (memK/memV single tensors of m.chunks·S rows); disposes m. */
  append(m: ChunkMemory): void {
    const S = this.config.chunkSize;
    const [mk, mv] = [m.memK, m.memV].map((t) => (Array.isArray(t) ? t : [t]));
    if (mk.length !== 1 || mv.length !== 1) throw new Error('internal: appended memory must be one part');
    for (let done = 0; done < m.chunks; ) {
      const b = this.blockWithRoom(m.chunks - done);
      const n = Math.min(m.chunks - done, b.cap - b.used);
      for (const [src, dst] of [
        [mk[0], b.k],
        [mv[0], b.v],
      ]) {
        rowCopy(src, done * S, dst, b.used * S, n * S);
      }
      b.used += n;
      done += n;
    }
    this.appendLandmarks(m.landmarks, m.chunks);
    this.chunks += m.chunks;
    for (const t of [...mk, ...mv, m.landmarks]) t.dispose();
  }

  /** Views of the stored memory (the caller disposes them), or null while no chunk is complete. */
  view(): ChunkMemory | null {
    if (this.chunks === 0) return null;
    const S = this.config.chunkSize;
    const used = this.blocks.filter((b) => b.used > 0);
    return {
      chunks: this.chunks,
      memK: used.map((b) => b.k.slice(0, 0, b.used * S)),
      memV: used.map((b) => b.v.slice(0, 0, b.used * S)),
      landmarks: this.lmk!.slice(0, 0, this.chunks),
    };
  }

  /** Landmarks [n, Hr, dr] of n chunks whose K/V are kept elsewhere (HostChunkStore); disposes l. */
  appendLandmarksOnly(l: Tensor, n: number): void {
    this.appendLandmarks(l, n);
    this.chunks += n;
    l.dispose();
  }

  /** A view of the stored landmarks [C, Hr, dr] (the caller disposes it), or null before the first chunk. */
  landmarksView(): Tensor | null {
    return this.chunks === 0 ? null : this.lmk!.slice(0, 0, this.chunks);
  }

  dispose(): void {
    for (const b of this.blocks) for (const t of [b.k, b.v]) t.dispose();
    this.blocks = [];
    this.lmk?.dispose();
    this.lmk = null;
    this.chunks = 0;
  }

  /** The last block, grown (doubling, ≤ maxBlock) to fit `want` more chunks where it can; a new block when full. */
  private blockWithRoom(want: number): Block {
    const last = this.blocks.at(-1);
    if (last && last.used < last.cap) return last;
    if (last && last.cap < this.maxBlock) {
      const cap = Math.min(this.maxBlock, Math.max(2 * last.cap, last.used + want));
      const grown = this.allocate(cap);
      const S = this.config.chunkSize;
      rowCopy(last.k, 0, grown.k, 0, last.used * S);
      rowCopy(last.v, 0, grown.v, 0, last.used * S);
      grown.used = last.used;
      for (const t of [last.k, last.v]) t.dispose();
      this.blocks[this.blocks.length - 1] = grown;
      return grown;
    }
    const b = this.allocate(Math.min(this.maxBlock, Math.max(FIRST_CAP, want)));
    this.blocks.push(b);
    return b;
  }

  private allocate(cap: number): Block {
    const { chunkSize: S, kvHeads, headDim } = this.config;
    const shape = [cap * S, kvHeads, headDim];
    return { k: Tensor.empty(this.backend, shape), v: Tensor.empty(this.backend, shape), cap, used: 0 };
  }

  private appendLandmarks(l: Tensor, n: number): void {
    const cap = this.lmk?.shape[0] ?? 0;
    if (this.chunks + n > cap) {
      const grown = Tensor.empty(this.backend, [Math.max(FIRST_CAP, 2 * cap, this.chunks + n), ...l.shape.slice(1)]);
      if (this.lmk) rowCopy(this.lmk, 0, grown, 0, this.chunks);
      this.lmk?.dispose();
      this.lmk = grown;
    }
    rowCopy(l, 0, this.lmk!, this.chunks, n);
  }
}

/** dst[at : at+n] = src[from : from+n] along axis 0. */
function rowCopy(src: Tensor, from: number, dst: Tensor, at: number, n: number): void {
  if (n === 0) return;
  const s = src.slice(0, from, from + n);
  const d = dst.slice(0, at, at + n);
  copyInto(s, d);
  s.dispose();
  d.dispose();
}
