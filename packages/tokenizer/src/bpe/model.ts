/** What the pipeline needs from a tokenization model. */
export interface Model {
  /** Unit of the lengths `encode` reports: UTF-8 bytes of the piece, or its UTF-16 units. */
  readonly unit: 'byte' | 'utf16';
  /** Appends the ids of `piece` to `ids`, and with `lens` the length of each token in `unit`s. */
  encode(piece: string, ids: number[], lens?: number[]): void;
  /** Drops cached words (memory); results do not change. */
  clearCache(): void;
}
