/**
 * Retrieval of each generated token for visualization: the chunks every HSA layer's top-k chose for
 * the query at the token's position and their fusion weights, read back from the step's recorded
 * intermediates (`retrieval{g}.indices` / `.weights`, [T, Hk, k_eff], last row).
 */
import { sliceCopy, type Tensor } from '@hsa/tensor';
import { type HsaConfig, retrievalLayerIndex } from '../config.js';
import type { Recorder } from '../layers/common.js';

export interface RetrievalLayer {
  /** upper group g (its HSA layer is the flat layer `layer`) */
  group: number;
  layer: number;
  kvHeads: number;
  /** k_eff = min(top-k, visible chunks) */
  k: number;
  /** chunk indices [kvHeads, k], most recent first; chunk c holds tokens [c·S, (c+1)·S) */
  chunks: Int32Array;
  /** fusion weights [kvHeads, k] (invalid slots have weight 0) */
  weights: Float32Array;
}

export interface RetrievalStep {
  /** index of the generated token this retrieval produced */
  index: number;
  /** absolute position of the query token */
  position: number;
  chunkSize: number;
  /** one entry per HSA layer that had a memory to read (none before the first chunk completes) */
  layers: RetrievalLayer[];
}

/** Collects the retrieval intermediates of one pass and reads their last row. */
export class RetrievalTap {
  private held = new Map<string, Tensor>();

  constructor(private readonly config: HsaConfig) {}

  recorder(): Recorder {
    return (name, t) => {
      if (!/^retrieval\d+\.(indices|weights)$/.test(name)) return t.dispose();
      this.held.get(name)?.dispose();
      this.held.set(name, t);
    };
  }

  /** The held pass's retrieval for token `index` at `position`; releases what it held. */
  async take(index: number, position: number): Promise<RetrievalStep> {
    const layers: RetrievalLayer[] = [];
    try {
      for (let g = 0; g < this.config.numUpperGroups; g++) {
        const idx = this.held.get(`retrieval${g}.indices`);
        const w = this.held.get(`retrieval${g}.weights`);
        if (!idx || !w) continue;
        const [T, kvHeads, k] = idx.shape;
        const last = async (t: Tensor) => {
          const row = sliceCopy(t, 0, T - 1, T);
          try {
            return await row.data();
          } finally {
            row.dispose();
          }
        };
        const chunks = Int32Array.from(await last(idx));
        const weights = Float32Array.from(await last(w));
        layers.push({ group: g, layer: retrievalLayerIndex(this.config, g) + 1, kvHeads, k, chunks, weights });
      }
    } finally {
      this.dispose();
    }
    return { index, position, chunkSize: this.config.chunkSize, layers };
  }

  dispose(): void {
    for (const t of this.held.values()) t.dispose();
    this.held.clear();
  }
}
