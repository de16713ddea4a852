/**
 * A chunk memory whose K/V live in host memory (hsa-spec.md §9 memory tiers): landmarks stay on the
 * device (every query scores all of them), each completed chunk's K/V is read back once and kept
 * on the host, and an HSA layer gets only the chunks its queries selected: their K/V gathered into
 * a compact device memory [U·S, Hk, dh] with the selection indices renumbered into it. Chunks
 * completed in the current pass are still on the device and are copied from there.
 */
import { type Backend, copyInto, Tensor } from '@hsa/tensor';
import { ChunkStore } from './chunk-store.js';
import type { HsaConfig } from './config.js';
import type { ChunkMemory } from './layers/chunking-layer.js';

interface Pending {
  first: number;
  chunks: number;
  memK: Tensor;
  memV: Tensor;
}

export class HostChunkStore {
  /** chunk c's K and V, each [S, Hk, dh] f32 */
  private readonly hostK: Float32Array[] = [];
  private readonly hostV: Float32Array[] = [];
  private pending: Pending[] = [];
  /** landmarks only (its K/V blocks stay empty) */
  private readonly lmk: ChunkStore;
  chunks = 0;

  constructor(
    private readonly config: HsaConfig,
    private readonly backend: Backend,
  ) {
    this.lmk = new ChunkStore(config, backend);
  }

  /** Bytes of K/V held on the host. */
  get hostBytes(): number {
    return this.hostK.length * 2 * this.chunkElems * 4;
  }

  private get chunkElems(): number {
    return this.config.chunkSize * this.config.kvHeads * this.config.headDim;
  }

  append(m: ChunkMemory): void {
    const [k, v] = [m.memK, m.memV].map((t) => (Array.isArray(t) ? t : [t]));
    if (k.length !== 1 || v.length !== 1) throw new Error('internal: appended memory must be one part');
    this.pending.push({ first: this.chunks, chunks: m.chunks, memK: k[0], memV: v[0] });
    this.lmk.appendLandmarksOnly(m.landmarks, m.chunks);
    this.chunks += m.chunks;
  }

  /** The landmarks (device) and no K/V: HSA layers call resolve() for theirs. */
  view(): ChunkMemory | null {
    const l = this.lmk.landmarksView();
    return l ? { chunks: this.chunks, memK: [], memV: [], landmarks: l, host: this } : null;
  }

  /**
   * The selected chunks of idx/w [T, Hk, k] as a compact device memory, and idx renumbered into it
   * (slots with weight 0 point at compact chunk 0). The caller disposes the three tensors.
   */
  async resolve(idx: Tensor, w: Tensor): Promise<{ memK: Tensor; memV: Tensor; idx: Tensor; chunks: number }> {
    const [ids, ws] = [await idx.data(), await w.data()];
    const chosen = [...new Set(Array.from(ids).filter((_, i) => ws[i] !== 0))].sort((a, b) => a - b);
    if (chosen.length === 0) chosen.push(0);
    const at = new Map(chosen.map((c, i) => [c, i]));
    const renumbered = Int32Array.from(ids, (c, i) => (ws[i] !== 0 ? at.get(c)! : 0));
    const { chunkSize: S, kvHeads, headDim } = this.config;
    const shape = [chosen.length * S, kvHeads, headDim];
    const gather = (host: Float32Array[], side: 'memK' | 'memV') => {
      const data = new Float32Array(chosen.length * this.chunkElems);
      chosen.forEach((c, i) => {
        if (c < host.length) data.set(host[c], i * this.chunkElems);
      });
      const out = Tensor.from(this.backend, data, shape);
      chosen.forEach((c, i) => {
        const p = this.pending.find((x) => c >= x.first && c < x.first + x.chunks);
        if (!p) return;
        const src = p[side].slice(0, (c - p.first) * S, (c - p.first + 1) * S);
        const dst = out.slice(0, i * S, (i + 1) * S);
        copyInto(src, dst);
        for (const t of [src, dst]) t.dispose();
      });
      return out;
    };
    return { memK: gather(this.hostK, 'memK'), memV: gather(this.hostV, 'memV'), idx: Tensor.from(this.backend, renumbered, idx.shape, 'i32'), chunks: chosen.length };
  }

  /** Moves the chunks completed in this pass to the host (after the pass's work). */
  async settle(): Promise<void> {
    const n = this.chunkElems;
    for (const p of this.pending) {
      const [k, v] = [(await p.memK.data()) as Float32Array, (await p.memV.data()) as Float32Array];
      for (let c = 0; c < p.chunks; c++) {
        this.hostK.push(k.slice(c * n, (c + 1) * n));
        this.hostV.push(v.slice(c * n, (c + 1) * n));
      }
      for (const t of [p.memK, p.memV]) t.dispose();
    }
    this.pending = [];
  }

  dispose(): void {
    for (const p of this.pending) for (const t of [p.memK, p.memV]) t.dispose();
    this.pending = [];
    this.hostK.length = 0;
    this.hostV.length = 0;
    this.lmk.dispose();
    this.chunks = 0;
  }
}
