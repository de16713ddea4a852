/**
 * @hsa/model: the SWA + HSA + MoE model of HSA-UltraLong (reference-model.md): config, safetensors
 * weights, the full-sequence forward. Loading from disk is in `@hsa/model/node`.
 */
/** config.json: parsing with the reference's defaults and quirks, typed `E_BAD_CONFIG` errors naming the field. */
export { type HsaConfig, type LayerKind, layerKinds, ModelConfigError, parseConfig, retrievalLayerIndex } from './config.js';
/** Parameter names and shapes a config implies (reference-model.md §2, MoE hsa-spec.md §4). */
export { layerPrefix, type ParamKind, type ParamSpec, parameterCount, parameterSpecs } from './params.js';
/** Weights: every tensor checked before any upload; packed f16/bf16 matrices; typed `E_BAD_CHECKPOINT` errors. */
export {
  type LoadWeightsOptions,
  loadWeights,
  type MatrixDtype,
  ModelWeights,
  planWeights,
  uploadWeights,
  type WeightFile,
  type WeightPlan,
  WeightsError,
} from './weights.js';
/** The full-sequence forward (logits), with a recorder of intermediates. */
export { type ForwardOptions, forward, prepareIds, type Recorder } from './forward.js';
/** Incremental decoding (§4): a cache state, prefill and single-token steps. */
export { createDecodeState, DecodeState, type DecodeStateOptions, type DecodeStepOptions, decodeStep, type PrefillOptions, prefill, upperSpan } from './decode.js';
/** Chunk K/V in host memory, only the selected chunks uploaded per HSA layer (createDecodeState(model, { memory: 'host' })). */
export { HostChunkStore } from './host-store.js';
/** Generation: an async iterator of tokens and text; greedy / temperature / top-k / top-p, stops, seed, AbortSignal, retrieval hooks. */
export {
  type FinishReason,
  type GeneratedToken,
  type GenerateOptions,
  type GenerationResult,
  generate,
  generateText,
  type StreamedPrompt,
  type TextStreamSource,
} from './generate/generate.js';
/** What each generated token retrieved: chunks and fusion weights per HSA layer. */
export type { RetrievalLayer, RetrievalStep } from './generate/retrieval.js';
/** Saving: every parameter under its reference name in its device dtype; one file or shards + index. */
export { modelTensors, type SavedModel, serializeModel } from './save.js';
/** The memory plan before allocating: weights, SWA caches, chunk memory, activations; a typed error over budget. */
export { checkMemoryPlan, formatMemoryPlan, type MemoryPlan, type MemoryPlanOptions, planMemory } from './memory-plan.js';
/** Loading over HTTP (browsers and Node): config.json and weights fetched with byte progress. */
export { type LoadFromUrlOptions, loadModelFromUrl } from './fetch.js';
/** A loaded model: config + weights + forward. */
export { HsaModel } from './model.js';
/** Training: the parameters as autograd Parameters under the reference names (seeded reference init, decay groups, safetensors export that HsaModel loads). */
export { decays, type InitOptions, initKind, TrainableHsaModel } from './train/trainable.js';
/** The differentiable forward (logits equal to forward's) and the batch loss, with per-stage window / top-k overrides and layer checkpointing. */
export { stageSettings, type TrainForwardOptions, type TrainModelView, type TrainSequence, trainLogits, trainLoss } from './train/forward.js';
/** The training parameter list of a config (MoE experts stacked per layer) and the stacked names. */
export { moePrefixes, stackedName, trainSpecs } from './train/moe.js';
