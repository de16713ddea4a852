/** Parameter names of one MoE layer (hsa-spec.md §4), given the layer's prefix (e.g. `model.layers.3.`). */
import type { MoeConfig } from './config.js';

export interface MoeParameterNames {
  /** `mlp.gate.weight` [E, d] */
  gate: string;
  /** `mlp.gate.expert_bias` [E] */
  bias: string;
  /** `mlp.experts.{e}.{gate,up,down}_proj.weight`: [F, d], [F, d], [d, F] */
  experts: { gate: string; up: string; down: string }[];
  /** `mlp.shared_experts.{gate,up,down}_proj.weight` (width F · num_shared_experts), when present */
  shared: { gate: string; up: string; down: string } | null;
}

const proj = (p: string) => ({ gate: `${p}gate_proj.weight`, up: `${p}up_proj.weight`, down: `${p}down_proj.weight` });

export function moeParameterNames(config: MoeConfig, prefix = ''): MoeParameterNames {
  return {
    gate: `${prefix}mlp.gate.weight`,
    bias: `${prefix}mlp.gate.expert_bias`,
    experts: Array.from({ length: config.experts }, (_, e) => proj(`${prefix}mlp.experts.${e}.`)),
    shared: config.sharedExperts > 0 ? proj(`${prefix}mlp.shared_experts.`) : null,
  };
}
