/**
 * @hsa/kernels: WGSL compute kernels, each beside the plain-TS reference that defines its meaning.
 * A leaf package: no WebGPU objects, no dependencies.
 */
export * from './core/dtype.js';
export * from './core/elementwise.js';
export * from './core/errors.js';
export * from './core/program.js';
export * from './core/uniforms.js';
/** Strided copy: materializes views, writes into views. */
export { stridedCopy } from './copy/copy.js';
export { type CopyParams, copyRef, MAX_RANK } from './copy/copy.ref.js';
/** Elementwise unary functions. */
export { unary } from './unary/unary.js';
export { UNARY_FNS, UNARY_OPS, type UnaryOp, type UnaryParams, unaryRef } from './unary/unary.ref.js';
/** Batched matmul (tiled GEMM and the decode matrix-vector path), f32 or packed f16/bf16 B. */
export { matmul, matmulSplitK, matmulVariant } from './matmul/matmul.js';
export { type MatmulParams, matmulRef } from './matmul/matmul.ref.js';
export { MATVEC_MAX_M } from './matmul/matvec.wgsl.js';
/** Embedding lookup (gather rows of an f32 / packed f16 / bf16 table). */
export { embedding } from './embedding/embedding.js';
export { type EmbeddingParams, embeddingRef } from './embedding/embedding.ref.js';
/** Elementwise binary ops with NumPy broadcasting, and their scalar forms. */
export { binary, binaryScalar } from './binary/binary.js';
export {
  BINARY_FNS,
  BINARY_MAX_RANK,
  BINARY_OPS,
  type BinaryOp,
  type BinaryParams,
  type BinaryScalarParams,
  binaryRef,
  binaryScalarRef,
} from './binary/binary.ref.js';
/** Elementwise backward kernels: dx of exp / sigmoid / silu / pow (scalar exponent); da, db of div / max / min with broadcasting. */
export { unaryBackward } from './unary/unaryBackward.js';
export { UNARY_BACKWARD_OPS, type UnaryBackwardOp, type UnaryBackwardParams, unaryBackwardRef, unaryGrad } from './unary/unaryBackward.ref.js';
export { binaryBackward } from './binary/binaryBackward.js';
export { BINARY_BACKWARD_OPS, type BinaryBackwardOp, type BinaryBackwardParams, binaryBackwardRef, binaryGrad } from './binary/binaryBackward.ref.js';
/** Top-k over the last axis (multi-pass bitonic chunks; deterministic tie order). */
export { topk } from './topk/topk.js';
export { TOPK_MAX_CHUNK, TOPK_MAX_K, TOPK_PAD, type TopkParams, topkChunk, topkKey, topkRef } from './topk/topk.ref.js';
/** Reductions over one axis (sum, max, min, mean), and the workgroup tree reduction they share. */
export { reduce, reduceVariant } from './reduce/reduce.js';
export { REDUCE_OPS, type ReduceOp, type ReduceParams, reduceRef } from './reduce/reduce.ref.js';
export { type Combine, threadsPerRow, wgslIdentity, wgslRowIndex, wgslWorkgroupReduce } from './reduce/tree.wgsl.js';
/** Attention references (CPU meaning of SWA, chunk-encoder and HSA kernels; forward, backward, decode). */
export { type SwaDecodeParams, type SwaParams, swaAttentionBackwardRef, swaAttentionDecodeRef, swaAttentionForwardRef } from './attention/swaAttention.ref.js';
export {
  type ChunkEncoderAttentionParams,
  chunkEncoderAttentionBackwardRef,
  chunkEncoderAttentionForwardRef,
} from './attention/chunkEncoderAttention.ref.js';
/** HSA retrieval: landmark scores with the visibility mask, top-k slot rules, fusion weights. */
export {
  type HsaRetrievalParams,
  hsaLandmarkScoresRef,
  hsaRetrievalDecodeRef,
  hsaRetrievalRef,
  hsaSelectTopkRef,
  hsaSlots,
  retrievalForward as retrievalForwardRef,
} from './attention/hsaRetrieval.ref.js';
export { type FusionMode, type HsaFusionParams, hsaFusionBackwardRef, hsaFusionWeightsRef } from './attention/hsaFusion.ref.js';
export { hsaRetrievalBackwardRef } from './attention/hsaRetrievalBackward.ref.js';
/** HSA chunk attention: per-chunk softmax (optionally off-by-one), fused over the selected chunks. */
export {
  type HsaChunkAttentionParams,
  hsaChunkAttentionDecodeRef,
  hsaChunkAttentionForwardRef,
} from './attention/hsaChunkAttention.ref.js';
export {
  type HsaChunkAttentionBackwardArrays,
  hsaChunkAttentionBackwardRef,
} from './attention/hsaChunkAttentionBackward.ref.js';
/** Dense attention kernels (WGSL + ref): SWA forward, chunk-encoder forward, SWA decode against a ring buffer. */
export {
  chunkEncoderAttentionForward,
  DENSE_MAX_D,
  type DenseVersion,
  swaAttentionDecodeForward,
  swaAttentionForward,
  swaMmaUnsupported,
} from './attention/swaAttention.js';
export { SWA_MMA_KT, SWA_MMA_TILE, type SwaMmaTile } from './attention/swaAttentionMma.wgsl.js';
export type { KeyTileV4 } from './attention/denseAttentionV4.wgsl.js';
/** One token's SWA attention in splits of keys (flash-decoding): partial (m, l, o) per split, then a merge per head. */
export { SWA_SPLIT_BLOCK, SWA_SPLIT_MAX_D, swaDecodeSplitMerge, swaDecodeSplitPartial } from './attention/swaDecodeSplit.js';
export { decodeKeys, type SwaDecodeSplitParams, swaDecodeSplitMergeRef, swaDecodeSplitPartialRef } from './attention/swaDecodeSplit.ref.js';
/** Dense attention backward kernels (WGSL + ref): delta = dout·out, dq per query tile, dk/dv per key tile from the saved log-sum-exp (SWA window, chunk-encoder block). */
export {
  DENSE_BACK_MAX_D,
  type DenseBackwardParams,
  type DenseBackwardVersion,
  denseAttentionDelta,
  denseAttentionDkv,
  denseAttentionDkvDs,
  denseAttentionDq,
  denseAttentionDqFromDs,
  denseAttentionLseDelta,
  denseBackwardV3Applies,
  denseDsBand,
  denseDsBandElements,
} from './attention/swaAttentionBackward.js';
export type { DqFromDsShape } from './attention/denseDqFromDs.wgsl.js';
export type { DenseBackShapeV2 } from './attention/swaAttentionBackwardV2.wgsl.js';
/** HSA chunk attention kernel (WGSL + ref): prefill and decode, any head ratio, f32/bf16 memory in parts. */
export { CHUNK_FIXED_BUFFERS, CHUNK_FIXED_BUFFERS_MERGE, CHUNK_MAX_D, CHUNK_MAX_S, type ChunkMergeParams, chunkMergeUnsupported, chunkMmaUnsupported, type HsaChunkAttentionGpuParams, hsaChunkAttentionForward, hsaPlaneSum } from './attention/hsaChunkAttention.js';
export { decodeUnsupported as chunkDecodeUnsupported } from './attention/hsaChunkAttentionDecode.wgsl.js';
/** HSA chunk attention backward kernels (WGSL + ref): dq, dw and per-slot softmax stats per (token, KV head); dK/dV per (chunk, KV head, key tile) over the inverted selection. */
export { CHUNK_BACK_MAX_K } from './attention/hsaChunkAttentionBackward.wgsl.js';
export {
  chunkBackwardMmaUnsupported,
  chunkDkvTile,
  chunkDqTile,
  type HsaChunkAttentionBackwardParams,
  hsaChunkAttentionDkv,
  hsaChunkAttentionDq,
} from './attention/hsaChunkAttentionBackward.js';
/** Inverting the HSA selection (slots by chunk and KV head): slot keys, radix digits / composition over the moeDispatch counting sort, bucket starts. */
export { hsaBucketStarts, hsaRadixCompose, hsaRadixDigits, hsaSlotKeys, type InvertParams, radixPasses } from './attention/hsaSelectionInvert.js';
/** HSA retrieval kernel (WGSL + ref): landmark scores, top-k without a sort, slot rules, fusion; block scan + merge for decode. */
export { type HsaSelectParams, hsaSelect, SELECT_MAX_DR, SELECT_MAX_K, selectBlocks } from './attention/hsaSelect.js';
export { sgListLength, sgTopkUnsupported } from './attention/hsaSelectSubgroup.wgsl.js';
/** HSA retrieval backward kernels (WGSL + ref): fusion backward and dqr per row; dlandmarks per (chunk, head) over the inverted selection. */
export { type HsaRetrievalBackwardParams, hsaRetrievalDlmk, hsaRetrievalDq } from './attention/hsaRetrievalBackward.js';
/** Categorical sampling from sorted top-k candidates (temperature, top-p, one uniform per row). */
export { sample } from './sample/sample.js';
export { type SampleParams, sampleRef } from './sample/sample.ref.js';
/** Softmax over the last axis (max-subtracted, a workgroup per row). */
export { softmax } from './softmax/softmax.js';
export { type SoftmaxParams, softmaxRef } from './softmax/softmax.ref.js';
/** RMSNorm over the last axis with an f32 or packed f16/bf16 weight. */
export { RMSNORM_WEIGHT_DTYPES, rmsNorm } from './rmsnorm/rmsnorm.js';
export { type RmsNormParams, rmsNormRef } from './rmsnorm/rmsnorm.ref.js';
/** Fused SwiGLU: silu(gate) ⊙ up. */
export { swiglu } from './swiglu/swiglu.js';
export { type SwigluParams, swigluRef } from './swiglu/swiglu.ref.js';
/** dtype conversion between f32, i32 and packed f16/bf16 (bit-exact with the host converters). */
export { cast } from './cast/cast.js';
export { type CastParams, type CastType, castRef, f32ToI32 } from './cast/cast.ref.js';
/** Constant fill and arange. */
export { arange, fill } from './fill/fill.js';
export { type ArangeParams, arangeRef, type FillParams, fillRef } from './fill/fill.ref.js';
/** Rotary position embedding, rotate-half (NeoX) layout; PyTorch's fp32 angles below 4096, reduced mod 2π beyond. */
export { rope } from './rope/rope.js';
export { ROPE_ANGLE_BOUND, type RopeParams, ropeAngle, ropeFreqs, ropeInvFreq, ropeRef } from './rope/rope.ref.js';
export { wgslSinCos } from './rope/sincos.wgsl.js';
/** Backward kernels (training): softmax, RMSNorm (dx and dw), SwiGLU, embedding scatter-add without atomics. */
export { softmaxBackward } from './softmax/softmaxBackward.js';
export { softmaxBackwardRef } from './softmax/softmaxBackward.ref.js';
export { rmsNormBackward, rmsNormWeightGrad } from './rmsnorm/rmsnormBackward.js';
export {
  type RmsNormBackwardParams,
  type RmsNormWeightGradParams,
  rmsNormBackwardRef,
  rmsNormWeightGradBlocks,
  rmsNormWeightGradRef,
} from './rmsnorm/rmsnormBackward.ref.js';
export { swigluBackward } from './swiglu/swigluBackward.js';
export { type SwigluBackwardParams, swigluBackwardRef } from './swiglu/swigluBackward.ref.js';
export { type EmbeddingKeysParams, type EmbeddingSegmentSumParams, embeddingKeys, embeddingSegmentSum } from './embedding/embeddingBackward.js';
export { type EmbeddingBackwardParams, embeddingBackwardRef } from './embedding/embeddingBackward.ref.js';
/** Cross-entropy over the vocabulary fused with its gradient (softmax formed once), label masking. */
export { crossEntropy, crossEntropyDenom } from './crossentropy/crossEntropy.js';
export {
  type CrossEntropyDenomParams,
  type CrossEntropyParams,
  crossEntropyDenomRef,
  crossEntropyRef,
} from './crossentropy/crossEntropy.ref.js';
/** Fused AdamW update (decoupled weight decay, bias correction, gradient scale folded in). */
export { adamw } from './adamw/adamw.js';
export { type AdamwParams, adamwRef } from './adamw/adamw.ref.js';
/** Mixture of experts: router (biased, group-limited top-k), GPU counting sort, grouped expert GEMM, combine, decode matvec; layer references. */
export { MOE_ROUTER_WORKGROUP_MAX_T, moeRouter, moeRouterVariant } from './moe/moeRouter.js';
export { MOE_MAX_EXPERTS, type MoeRouterParams, type MoeScoreFn, moeAllowedGroups, moeRouterRef, moeSelect } from './moe/moeRouter.ref.js';
export { moeCount, moeScan, moeScatter } from './moe/moeDispatch.js';
export { MOE_SORT_BLOCK, type MoeDispatchParams, moeCountRef, moeScanRef, moeScatterRef, moeSortBlocks } from './moe/moeDispatch.ref.js';
export { moeGroupedMatmul } from './moe/moeGroupedMatmul.js';
export { MOE_TILE_M, type MoeGroupedMatmulParams, moeGroupedMatmulRef } from './moe/moeGroupedMatmul.ref.js';
export { moeCombine } from './moe/moeCombine.js';
export { type MoeCombineParams, moeCombineRef } from './moe/moeCombine.ref.js';
export { moeGatherMatvec } from './moe/moeGatherMatvec.js';
export { type MoeGatherMatvecParams, moeGatherMatvecRef } from './moe/moeGatherMatvec.ref.js';
export { type MoeRefDims, type MoeRefForward, type MoeRefWeights, moeLayerForwardRef, swigluRow } from './moe/moeLayer.ref.js';
export { type MoeRefGrads, moeLayerBackwardRef, swigluRowBackward } from './moe/moeBackward.ref.js';
export {
  type MoeAuxLossKernelParams,
  type MoeAuxLossParams,
  moeAuxLossBackwardKernelRef,
  moeAuxLossStatsRef,
  moeSeqAuxLossBackwardRef,
  moeSeqAuxLossRef,
} from './moe/moeAuxLoss.ref.js';
/** The sequence-level balance loss: per-sequence load fractions and mean scores, and its gradient to the router logits. */
export { moeAuxLossBackward, moeAuxLossStats } from './moe/moeAuxLoss.js';
/** MoE backward: grouped GEMMs over all experts (row maps, [N,K] or [K,N] weights), per-expert weight gradients, router and combine backward. */
export { moeGroupedGemm, wgslMoeRow } from './moe/moeGroupedGemm.js';
export { type MoeGroupedGemmParams, type MoeRowMap, moeGroupedGemmRef, moeRow } from './moe/moeGroupedGemm.ref.js';
export { moeWeightGrad } from './moe/moeWeightGrad.js';
export { type MoeWeightGradParams, moeWeightGradRef } from './moe/moeWeightGrad.ref.js';
export { moeRouterBackward } from './moe/moeRouterBackward.js';
export { type MoeRouterBackwardParams, moeRouterBackwardRef } from './moe/moeRouterBackward.ref.js';
export { moeCombineBackward } from './moe/moeCombineBackward.js';
export { type MoeCombineBackwardParams, moeCombineBackwardRef } from './moe/moeCombineBackward.ref.js';
