/** The task specs, the presets (RULER's standard set and the paper's MQ-NIAH) and the NIAH spec builder. */
export { TASKS, niah, type TaskSpec, type NiahTask, type PasskeyTask, type VtTask, type Haystack } from './tasks.js';
/** Generates one prompt at an exact token length and needle depth, streamed as token chunks. */
export { generateSample, promptText, type Sample, type SampleOptions, type Needle } from './sample.js';
/** The tokenizer interface the tasks need, memoized encoding, and regrouping of token streams. */
export { type TaskTokenizer, encodeCached, rechunk } from './tokens.js';
/** The corpus: paragraphs split into training and held-out sets by a fixed hash rule; RULER's noise text. */
export { splitCorpus, paragraphs, isHeldOut, splitParagraphs, NOISE, type Corpus, type Split, type SplitOptions } from './corpus.js';
/** Needle keys split into disjoint training and evaluation sets; value kinds. */
export { keySplit, type ValueKind } from './keys.js';
/** RULER's string_match_all score, the Wilson interval and per-cell aggregation. */
export { score, wilson, aggregate, Z95, type Aggregate } from './score.js';
/** The evaluation grid over tasks × lengths × depths with a caller-supplied solver. */
export { runGrid, type GridOptions, type GridRow, type GridProgress, type Solver, type SolveResult } from './grid.js';
/** Grid rows as a text table and as JSON. */
export { formatGridTable, gridToJson } from './format.js';
/** Seeded randomness used for every choice (exported for training mixes that draw alongside). */
export { Rng, fnv1a } from './rng.js';
/** The error type of this package and its codes. */
export { TaskError, type TaskErrorCode } from './errors.js';
