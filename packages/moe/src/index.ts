/**
 * @hsa/moe: Ling-2.0-style mixture-of-experts layers for HSA models (hsa-spec.md §4): the router
 * (sigmoid/softmax scores, expert bias for selection only, group-limited routing), dispatch on the
 * GPU (counting sort, one grouped GEMM over all experts, deterministic combine), the shared expert,
 * the one-token decode path and auxiliary-loss-free balancing.
 */
/** Config fields, defaults and typed validation (`E_BAD_CONFIG`). */
export { DEFAULT_BIAS_UPDATE_RATE, isMoeLayer, type MoeConfig, MoeConfigError, type MoeConfigJson, parseMoeConfig } from './config.js';
/** Parameter names of a layer (`mlp.gate.weight`, `mlp.experts.{e}.*`, `mlp.shared_experts.*`). */
export { type MoeParameterNames, moeParameterNames } from './params.js';
/** The layer: forward over T tokens, decode for one. */
export { disposeForward, type MoeForward, MoeLayer, type WeightDtype, type WeightLookup } from './layer.js';
/** The ops the layer is built from (route, dispatch, grouped experts, decode experts, combine). */
export { combine, type Dispatch, dispatch, type ExpertWeights, expertsDecode, expertsDecodeRouted, expertsForward, type Routing, route } from './ops.js';
/** Training: the differentiable layer (router weights, combine weights, grouped experts, shared expert). */
export { disposeTrainForward, expertsAg, type MoeTrainForward, type MoeTrainWeights, moeForwardAg, routeAg } from './train.js';
/** The optional sequence-level balance loss (α·Σ f_e·P_e per sequence), differentiable in the router logits. */
export { moeSeqAuxLoss, type SeqAuxLossOptions } from './aux.js';
/** Load statistics and the auxiliary-loss-free bias update. */
export { expertLoad, LoadStats, updateExpertBias } from './balance.js';
