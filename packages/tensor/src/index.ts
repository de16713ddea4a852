/**
 * @hsa/tensor: tensors over a narrow backend interface with two implementations, WebGPU (browsers
 * through navigator.gpu, Node through Dawn) and pure-TypeScript CPU.
 */
export { HsaError, ShapeError, DTypeError, ArgumentError, OutOfMemoryError, DeviceLostError, UnsupportedError, BackendError, type DType } from '@hsa/kernels';
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
/** Attention: SWA (prefill, ring-buffer decode), chunk-encoder attention, HSA retrieval (top-k, fusion) and chunk attention. */
export { type AttentionOptions, chunkEncoderAttention, swaAttention, swaAttentionDecode, swaAttentionWithLse } from './ops/attention/swaAttention.js';
export { type HsaRetrievalOptions, type HsaRetrievalResult, hsaRetrieval, hsaRetrievalDecode } from './ops/attention/hsaRetrieval.js';
export { type HsaChunkAttentionOptions, hsaChunkAttention } from './ops/attention/hsaChunkAttention.js';
