/**
 * MoE config: the Hugging Face fields of hsa-spec.md §4, their defaults, and validation at load time.
 * Every problem is a {@link MoeConfigError} (code `E_BAD_CONFIG`) naming the field.
 */
import { HsaError, MOE_MAX_EXPERTS, type MoeScoreFn } from '@hsa/kernels';

/** DeepSeek-V3's γ (arXiv 2412.19437), used when config.json gives no router_bias_update_rate. */
export const DEFAULT_BIAS_UPDATE_RATE = 0.001;

/** A config field that is missing, of the wrong type or inconsistent with another field. */
export class MoeConfigError extends HsaError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('E_BAD_CONFIG', `MoE config: ${field}: ${message}`);
  }
}

/** The config.json fields this package reads (Hugging Face names). */
export interface MoeConfigJson {
  hidden_size: number;
  num_experts: number;
  num_experts_per_tok: number;
  moe_intermediate_size: number;
  num_shared_experts?: number;
  first_k_dense_replace?: number;
  score_function?: MoeScoreFn;
  n_group?: number;
  topk_group?: number;
  norm_topk_prob?: boolean;
  routed_scaling_factor?: number;
  router_bias_update_rate?: number;
  /** weight of the optional sequence-level balance loss (0 = off) */
  aux_loss_alpha?: number;
}

/** A validated config with every default applied. */
export interface MoeConfig {
  /** model width d */
  hidden: number;
  /** experts E */
  experts: number;
  /** experts per token k */
  topk: number;
  /** expert width F */
  expertWidth: number;
  /** shared experts (their SwiGLU has width F · sharedExperts) */
  sharedExperts: number;
  firstKDenseReplace: number;
  scoreFunction: MoeScoreFn;
  nGroup: number;
  topkGroup: number;
  normTopkProb: boolean;
  routedScalingFactor: number;
  biasUpdateRate: number;
  auxLossAlpha: number;
}

function int(json: Record<string, unknown>, field: string, dflt: number | undefined, min: number): number {
  const v = json[field] ?? dflt;
  if (v === undefined) throw new MoeConfigError(field, 'is required');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new MoeConfigError(field, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function num(json: Record<string, unknown>, field: string, dflt: number, min = 0): number {
  const v = json[field] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new MoeConfigError(field, `must be a finite number ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function scoreFunction(json: Record<string, unknown>): MoeScoreFn {
  const v = json.score_function ?? 'sigmoid';
  if (v !== 'sigmoid' && v !== 'softmax') throw new MoeConfigError('score_function', `must be "sigmoid" or "softmax", got ${JSON.stringify(v)}`);
  return v;
}

function bool(json: Record<string, unknown>, field: string, dflt: boolean): boolean {
  const v = json[field] ?? dflt;
  if (typeof v !== 'boolean') throw new MoeConfigError(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Reads and validates the MoE fields of a config.json object (absent fields take §4's defaults). */
export function parseMoeConfig(json: Partial<MoeConfigJson> | Record<string, unknown>): MoeConfig {
  const j = json as Record<string, unknown>;
  const experts = int(j, 'num_experts', undefined, 1);
  if (experts > MOE_MAX_EXPERTS) throw new MoeConfigError('num_experts', `${experts} experts exceed the supported ${MOE_MAX_EXPERTS}`);
  const topk = int(j, 'num_experts_per_tok', undefined, 1);
  if (topk > experts) throw new MoeConfigError('num_experts_per_tok', `k = ${topk} exceeds num_experts = ${experts}`);
  const nGroup = int(j, 'n_group', 1, 1);
  if (experts % nGroup !== 0) throw new MoeConfigError('n_group', `${nGroup} groups do not divide num_experts = ${experts}`);
  const topkGroup = int(j, 'topk_group', 1, 1);
  if (topkGroup > nGroup) throw new MoeConfigError('topk_group', `${topkGroup} exceeds n_group = ${nGroup}`);
  if (nGroup > 1 && topkGroup * (experts / nGroup) < topk) {
    throw new MoeConfigError('topk_group', `${topkGroup} groups of ${experts / nGroup} experts cannot hold k = ${topk} experts`);
  }
  return {
    hidden: int(j, 'hidden_size', undefined, 1),
    experts,
    topk,
    expertWidth: int(j, 'moe_intermediate_size', undefined, 1),
    sharedExperts: int(j, 'num_shared_experts', 0, 0),
    firstKDenseReplace: int(j, 'first_k_dense_replace', 0, 0),
    scoreFunction: scoreFunction(j),
    nGroup,
    topkGroup: nGroup > 1 ? topkGroup : 1,
    normTopkProb: bool(j, 'norm_topk_prob', true),
    routedScalingFactor: num(j, 'routed_scaling_factor', 1),
    biasUpdateRate: num(j, 'router_bias_update_rate', DEFAULT_BIAS_UPDATE_RATE),
    auxLossAlpha: num(j, 'aux_loss_alpha', 0),
  };
}

/** True when FFN number `i` (counting only layers that have an FFN, from 0) is an MoE layer. */
export const isMoeLayer = (config: MoeConfig, ffnIndex: number): boolean => ffnIndex >= config.firstKDenseReplace;
