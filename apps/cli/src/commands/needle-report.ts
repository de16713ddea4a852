/**
 * `hsa needle`'s report lines: the chunks each HSA layer retrieved for the answer's tokens (ranked by
 * fusion weight, the needle's chunk marked `*`), one line per sample, and the summary.
 */
import type { RetrievalStep } from '@hsa/model';
import type { NeedleReport } from './needle.js';

/** A chunk one HSA layer retrieved for the answer: its mean fusion weight over answer tokens × KV heads. */
export interface RetrievedChunk {
  chunk: number;
  weight: number;
  /** whether it holds a token of the queried needle */
  needle: boolean;
}

export interface NeedleSample {
  depth: number;
  /** sample number at this depth */
  index: number;
  expected: string[];
  answer: string;
  /** RULER's string_match_all: fraction of the expected strings in the answer */
  score: number;
  correct: boolean;
  prefillSeconds: number;
  tokensPerSecond: number;
  /** the chunks the queried needle's tokens lie in */
  needleChunks: number[];
  /** per HSA layer, every chunk its top-k chose for an answer token, by weight (heaviest first) */
  layers: { layer: number; chunks: RetrievedChunk[] }[];
  /** whether any layer chose a needle chunk for any answer token */
  needleRetrieved: boolean;
}

/** Per HSA layer, the chunks chosen (weight > 0) for the answer's tokens, heaviest first. */
export function rankChunks(steps: readonly RetrievalStep[], needle: ReadonlySet<number>): NeedleSample['layers'] {
  const byLayer = new Map<number, { weights: Map<number, number>; rows: number }>();
  for (const step of steps) {
    for (const l of step.layers) {
      const e = byLayer.get(l.layer) ?? { weights: new Map<number, number>(), rows: 0 };
      byLayer.set(l.layer, e);
      e.rows += l.kvHeads;
      for (let i = 0; i < l.chunks.length; i++) {
        if (l.weights[i] > 0) e.weights.set(l.chunks[i], (e.weights.get(l.chunks[i]) ?? 0) + l.weights[i]);
      }
    }
  }
  return [...byLayer.entries()]
    .sort(([a], [b]) => a - b)
    .map(([layer, e]) => ({
      layer,
      chunks: [...e.weights.entries()]
        .map(([chunk, w]) => ({ chunk, weight: w / e.rows, needle: needle.has(chunk) }))
        .sort((a, b) => b.weight - a.weight || a.chunk - b.chunk),
    }));
}

/** "L5: 1203*, 17, 5 …" for each layer: the `shown` heaviest chunks, needle chunks marked. */
export function formatChunks(layers: NeedleSample['layers'], shown = 8): string {
  if (layers.length === 0) return 'chunks: none (no chunk complete before the answer)';
  const layer = (l: NeedleSample['layers'][number]) => {
    const list = l.chunks.slice(0, shown).map((c) => `${c.chunk}${c.needle ? '*' : ''}`);
    const hidden = l.chunks.slice(shown).filter((c) => c.needle);
    if (hidden.length) list.push(`… ${hidden.map((c) => `${c.chunk}*`).join(', ')}`);
    else if (l.chunks.length > shown) list.push('…');
    return `L${l.layer}: ${list.join(', ') || '-'}`;
  };
  return `chunks ${layers.map(layer).join('  ')}`;
}

const quote = (s: string) => JSON.stringify(s.length > 24 ? `${s.slice(0, 23)}…` : s);

/** One sample: depth, expected and given answer, ✔/✘, prefill tokens/s, retrieved chunks. */
export function formatSample(s: NeedleSample): string {
  const mark = s.correct ? '✔' : s.score > 0 ? '~' : '✘';
  const needle = `needle chunk ${s.needleChunks.join('/')} ${s.needleRetrieved ? 'retrieved' : 'not retrieved'}`;
  return `depth ${String(s.depth).padStart(3)}% #${s.index}  expected ${s.expected.join(',')}  answer ${quote(s.answer.trim())} ${mark}  ${s.tokensPerSecond.toFixed(1)} tok/s  ${formatChunks(s.layers)}  ${needle}`;
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/** The closing lines: accuracy with its Wilson interval, tokens/s, needle retrieval, backend. */
export function formatSummary(r: NeedleReport): string {
  const s = r.summary;
  const right = r.samples.filter((x) => x.correct).length;
  return [
    `accuracy ${s.accuracy.toFixed(3)} (${right}/${s.n}), 95% Wilson interval [${s.ciLow.toFixed(3)}, ${s.ciHigh.toFixed(3)}]`,
    `prefill ${s.tokensPerSecond.toFixed(1)} tokens/s at ${r.length} tokens; needle chunk retrieved in ${pct(s.needleRetrievalRate)} of samples`,
    `backend ${r.backend}, adapter ${r.adapter}${r.software ? ' (software)' : ''}; ${s.seconds.toFixed(0)} s in all`,
  ].join('\n');
}
