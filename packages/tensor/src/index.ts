/**
 * @hsa/tensor: tensors over a narrow backend interface with two implementations, WebGPU (browsers
 * through navigator.gpu, Node through Dawn) and pure-TypeScript CPU.
 */
export { HsaError, ShapeError, DTypeError, ArgumentError, OutOfMemoryError, DeviceLostError, UnsupportedError, BackendError, NumericError, AbortedError, type DType } from '@hsa/kernels';
/** The backend interface. */
export type { AdapterReport, Backend, KernelArg, Storage } from './backend.js';
/** Create a backend by name (`auto` tries WebGPU, then the CPU). */
export { type BackendName, createBackend, type CreateBackendOptions } from './backends.js';
/** The pure-TypeScript backend. */
export { CpuBackend } from './cpu/cpu-backend.js';
/** The WebGPU backend. */
export { WebGpuBackend, type WebGpuBackendOptions } from './webgpu/webgpu-backend.js';
/** Points Vulkan at SwiftShader when no driver is installed (Node on Linux). */
export { useSoftwareVulkanIfNoDriver } from './webgpu/device.js';
/** The tensor type and helpers. */
export { contiguousStrides, copyInto, fmtShape, type HostData, numel, type Shape, Tensor } from './tensor.js';
/** Elementwise unary ops. */
export { exp, sigmoid, silu, unary } from './ops/unary.js';
/** Embedding lookup: table rows by id (f32 / packed f16 / bf16 table, f32 out). */
export { embedding } from './ops/embedding.js';
/** Batched matmul with transposed operands and packed f16/bf16 weights. */
export { matmul, type MatmulOptions } from './ops/matmul.js';
/** safetensors reader/writer over bytes (browser-safe; typed `E_BAD_CHECKPOINT` errors). */
export {
  SAFETENSORS_DTYPES,
  type SafetensorsDType,
  type SafetensorsEntry,
  SafetensorsFile,
  type SafetensorsTensorInput,
  serializeSafetensors,
} from './io/safetensors.js';
/** Fetching a safetensors file with byte progress (browsers, Node 18+). */
export { type FetchSafetensorsOptions, fetchSafetensors } from './io/safetensors-fetch.js';
/** Elementwise binary ops with NumPy broadcasting (a number right operand uses the scalar kernel). */
export { add, addScalar, binary, binaryScalar, broadcastShapes, div, maximum, minimum, mul, pow, scale, sub } from './ops/binary.js';
/** Top-k and argmax over the last axis (ties by lower index, NaN last). */
export { argmax, type TopkResult, topk } from './ops/topk.js';
/** Reductions over one axis: sum, mean, max, min (keepDims option). */
export { max, mean, min, type ReduceOptions, reduce, resolveAxis, sum } from './ops/reduce.js';
/** Token sampling (temperature, top-k, top-p, seeded or given uniforms; temperature 0 = argmax). */
export { type SampleOptions, sample } from './ops/sample.js';
/** Softmax over the last axis (numerically stable). */
export { softmax } from './ops/softmax.js';
/** RMSNorm over the last axis (f32 or packed f16/bf16 weight; per-head = reshape to [..., H, Dh]). */
export { rmsNorm } from './ops/rmsnorm.js';
/** Fused SwiGLU: silu(gate) ⊙ up. */
export { swiglu } from './ops/swiglu.js';
/** dtype conversion (f32, i32, packed f16/bf16; round to nearest even). */
export { cast } from './ops/cast.js';
/** Copy ops: concat, and materialized slices / transposes. */
export { concat, sliceCopy, transposeCopy } from './ops/copy.js';
/** Device-made tensors: constant fill and arange. */
export { arange, fill } from './ops/fill.js';
/** Rotary position embedding, rotate-half (NeoX) layout, PyTorch fp32 angles; offset or i32 positions. */
export { type RopeOptions, rope } from './ops/rope.js';
/** Attention: SWA (prefill, a segment after its history, ring-buffer decode), chunk-encoder attention, HSA retrieval (top-k, fusion) and chunk attention. */
export {
  type AttentionOptions,
  type SwaOptions,
  chunkEncoderAttention,
  chunkEncoderAttentionWithLse,
  swaAttention,
  swaAttentionDecode,
  swaAttentionSegment,
  swaAttentionWithLse,
} from './ops/attention/swaAttention.js';
export { type HsaRetrievalOptions, type HsaRetrievalResult, hsaRetrieval, hsaRetrievalDecode } from './ops/attention/hsaRetrieval.js';
export { type HsaChunkAttentionOptions, hsaChunkAttention } from './ops/attention/hsaChunkAttention.js';
export { type HsaDecodeStepOptions, type HsaDecodeStepResult, hsaDecodeStep } from './ops/attention/hsaDecodeStep.js';
/** Attention backward: SWA and chunk-encoder gradients (dq, dk, dv) from the forward's output and log-sum-exp. */
export { type AttentionGrads, type BackwardVersion, chunkEncoderAttentionBackward, SCORE_GRAD_BYTES, swaAttentionBackward } from './ops/attention/attentionBackward.js';
/** HSA chunk attention backward: dq, dK, dV, dw; dK/dV deterministic over the inverted selection. */
export {
  chunkBackwardVariant,
  type HsaChunkAttentionBackwardOptions,
  type HsaChunkAttentionGrads,
  hsaChunkAttentionBackward,
  invertSelection,
} from './ops/attention/hsaChunkAttentionBackward.js';
/** HSA retrieval backward: dw through the fusion into dqr, dlandmarks (deterministic) and dPosDecay. */
export { type HsaRetrievalGrads, hsaRetrievalBackward } from './ops/attention/hsaRetrievalBackward.js';
/** Differentiable ops (ag.matmul, ag.rmsNorm, ag.crossEntropy, ag.checkpoint, ...) recording onto the autograd tape. */
export * as ag from './autograd/index.js';
/** Autograd control: backward from a scalar, noGrad regions, detach, tape inspection. */
export { backward, clearTape, detach, isGradEnabled, noGrad, requiresGrad } from './autograd/tape.js';
/** Recording a custom differentiable op onto the tape (for ops outside this package, e.g. @hsa/moe's experts). */
export { type AnyTapeNode, keep, type MultiTapeNode, record, recordMulti, shouldRecord, type TapeNode } from './autograd/tape.js';
/** A trainable tensor with its accumulated gradient and weight-decay group. */
export { Parameter } from './autograd/parameter.js';
/** Backward kernels as tensor ops (softmax, RMSNorm, SwiGLU, embedding scatter-add). */
export { embeddingBackward, rmsNormBackward, softmaxBackward, swigluBackward } from './autograd/backward-ops.js';
/** A weight gradient xᵀ·y (x [K, M], y [K, N]) split over a long K into summed batched products when that fills the GPU. */
export { matmulTransA, splitKFactor } from './autograd/ops-linalg.js';
/** Per-row cross-entropy fused with its gradient, with label masking (targets outside [0, V)). */
export { type CrossEntropyRows, crossEntropyDenom, crossEntropyRows } from './ops/crossEntropy.js';
/** AdamW over Parameters (fused kernel, decay / no-decay groups). */
export { AdamW, type AdamWOptions, type AdamWState } from './optim/adamw.js';
/** Global gradient norm (NaN/Inf names the tensor) and the clipping factor. */
export { clipFactor, globalGradNorm } from './optim/clip.js';
/** Learning-rate schedules: linear warm-up then constant, or cosine. */
export { type LrSchedule, warmupConstant, warmupCosine } from './optim/schedule.js';
/** Trainer: accumulation, clipping, NaN guard, checkpoints, progress callback, AbortSignal. */
export { type StepReport, Trainer, type TrainerOptions } from './train/trainer.js';
/** Training checkpoints in safetensors (weights, AdamW moments, step, RNG state, config) over injected I/O. */
export { CHECKPOINT_FORMAT, type CheckpointIO, loadCheckpoint, serializeCheckpoint, type TrainState } from './train/checkpoint.js';
/** Seeded PRNG whose state fits a checkpoint. */
export { Rng } from './train/rng.js';
/** A small Transformer from the differentiable primitives, with its memory plan; and the copy task. */
export { type MemoryPlan, TinyTransformer, type TinyTransformerConfig } from './train/tiny-transformer.js';
export { COPY_SEP, copyBatch, IGNORE } from './train/copy-task.js';
