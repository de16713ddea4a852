/**
 * MoE FFNs in training (hsa-spec.md §4) through @hsa/moe's differentiable layer (moeForwardAg). A
 * layer's routed experts train as three stacked Parameters, `${m}mlp.experts.{gate,up,down}_proj.weight`
 * ([E, F, d], [E, F, d], [E, d, F]; m = the layer's MoE prefix), split back into the reference's
 * per-expert names when saved. The selection bias `${m}mlp.gate.expert_bias` is a Parameter that gets
 * no gradient: the auxiliary-loss-free rule updates it after a step (TrainableHsaModel.balanceExperts).
 */
import { type MoeConfig, moeForwardAg, moeParameterNames, moeSeqAuxLoss, type MoeTrainWeights, disposeTrainForward } from '@hsa/moe';
import { keep, type SafetensorsTensorInput, type Tensor } from '@hsa/tensor';
import type { HsaConfig } from '../config.js';
import { type ParamSpec, parameterSpecs } from '../params.js';
import type { Scope, TrainContext } from './modules.js';

const GATE = 'mlp.gate.weight';
const PROJ = ['gate', 'up', 'down'] as const;

/** The stacked name of a projection of a layer's routed experts. */
export const stackedName = (m: string, proj: (typeof PROJ)[number]): string => `${m}mlp.experts.${proj}_proj.weight`;

/** MoE prefixes of a config (`backbone.layers.i.` for SWA layers, `backbone.layers.i._` for HSA layers). */
export function moePrefixes(config: HsaConfig): string[] {
  return parameterSpecs(config)
    .filter((s) => s.kind === 'moe' && s.name.endsWith(GATE))
    .map((s) => s.name.slice(0, -GATE.length));
}

/** The three stacked specs of a layer's experts. */
function stackedSpecs(m: MoeConfig, prefix: string): ParamSpec[] {
  const { experts: E, expertWidth: F, hidden: d } = m;
  const shape = { gate: [E, F, d], up: [E, F, d], down: [E, d, F] };
  return PROJ.map((p) => ({ name: stackedName(prefix, p), shape: shape[p], kind: 'matrix' as const }));
}

/**
 * The training parameters of a config: parameterSpecs with each MoE layer's per-expert matrices
 * replaced by the stacked ones (router and shared experts are matrices, the expert bias a vector).
 */
export function trainSpecs(config: HsaConfig): ParamSpec[] {
  const out: ParamSpec[] = [];
  for (const s of parameterSpecs(config)) {
    if (s.kind !== 'moe') out.push(s);
    else if (s.name.endsWith(GATE)) out.push({ ...s, kind: 'matrix' }, ...stackedSpecs(config.moe!, s.name.slice(0, -GATE.length)));
    else if (s.name.endsWith('expert_bias')) out.push({ ...s, kind: 'vector' });
    else if (s.name.includes('shared_experts')) out.push({ ...s, kind: 'matrix' });
  }
  return out;
}

/** Per-expert names of a stacked parameter, or null when `name` is not one. */
function expertNames(config: HsaConfig, name: string): string[] | null {
  const hit = /^(.*)mlp\.experts\.(gate|up|down)_proj\.weight$/.exec(name);
  if (!hit || !config.moe) return null;
  return moeParameterNames(config.moe, hit[1]).experts.map((e) => e[hit[2] as 'gate']);
}

/** The value of a training parameter from a state-dict lookup (stacked experts are joined). */
export function trainValue(config: HsaConfig, spec: ParamSpec, lookup: (name: string) => Float32Array): Float32Array {
  const names = expertNames(config, spec.name);
  if (!names) return Float32Array.from(lookup(spec.name));
  const per = spec.shape[1] * spec.shape[2];
  const out = new Float32Array(names.length * per);
  names.forEach((n, e) => {
    out.set(lookup(n), e * per);
  });
  return out;
}

/** State-dict entries of one training parameter (a stacked one becomes its per-expert tensors). */
export function stateEntries(config: HsaConfig, name: string, shape: readonly number[], data: Float32Array): [string, SafetensorsTensorInput][] {
  const names = expertNames(config, name);
  if (!names) return [[name, { dtype: 'F32', shape, data }]];
  const per = shape[1] * shape[2];
  return names.map((n, e) => [n, { dtype: 'F32', shape: shape.slice(1), data: data.slice(e * per, (e + 1) * per) }]);
}

function weights(ctx: TrainContext, m: string, c: MoeConfig): MoeTrainWeights {
  const [gate, up, down] = PROJ.map((p) => ctx.p(stackedName(m, p)));
  const n = moeParameterNames(c, m).shared;
  const shared = n ? { gate: ctx.p(n.gate), up: ctx.p(n.up), down: ctx.p(n.down) } : null;
  return { gate: ctx.p(`${m}${GATE}`), experts: { gate, up, down }, shared };
}

/**
 * The MoE FFN with prefix m over x [T, d] → [T, d] (in the scope). Reports the dispatch offsets to
 * ctx.moe.onLoad and adds the sequence-level balance loss (aux_loss_alpha > 0) to ctx.moe.aux.
 */
export function moeFfn(ctx: TrainContext, s: Scope, x: Tensor, m: string): Tensor {
  const c = ctx.config.moe!;
  const router = { k: c.topk, nGroup: c.nGroup, topkGroup: c.topkGroup, scoreFn: c.scoreFunction, norm: c.normTopkProb, scale: c.routedScalingFactor };
  const f = moeForwardAg(x, weights(ctx, m, c), ctx.p(`${m}mlp.gate.expert_bias`), router);
  const hooks = ctx.moe;
  if (hooks?.active) {
    hooks.onLoad?.(m, f.offsets.map(keep));
    if (c.auxLossAlpha > 0) hooks.aux.push(moeSeqAuxLoss(f.logits, f.routing, { alpha: c.auxLossAlpha, scoreFn: c.scoreFunction }));
  }
  disposeTrainForward(f);
  return s.keep(f.out);
}
