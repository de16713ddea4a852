/**
 * Every parameter a config implies, with its shape (reference-model.md §2; MoE names hsa-spec.md §4).
 * `matrix` parameters feed matmul or the embedding and may stay packed f16/bf16; `vector` ones
 * (norms, biases, cls_emb, pos_decay) are upcast to f32; `moe` ones are uploaded by @hsa/moe's MoeLayer.
 */
import { moeParameterNames } from '@hsa/moe';
import { type HsaConfig, layerKinds } from './config.js';

export type ParamKind = 'matrix' | 'vector' | 'moe';

export interface ParamSpec {
  name: string;
  shape: number[];
  kind: ParamKind;
}

/** Name prefix of flat layer i. */
export const layerPrefix = (i: number): string => `backbone.layers.${i}.`;

const mat = (name: string, rows: number, cols: number): ParamSpec => ({ name, shape: [rows, cols], kind: 'matrix' });
const vec = (name: string, n: number): ParamSpec => ({ name, shape: [n], kind: 'vector' });

/** Dense SwiGLU `${p}{gate,up,down}_proj.weight`. */
function mlp(p: string, width: number, d: number): ParamSpec[] {
  return [mat(`${p}gate_proj.weight`, width, d), mat(`${p}up_proj.weight`, width, d), mat(`${p}down_proj.weight`, d, width)];
}

/** q/k/v/o projections and q/k norms of an SWA module (or an encoder layer: qkvBias, no o bias). */
export function attentionParams(c: HsaConfig, p: string, bias: { qkv: boolean; o: boolean }): ParamSpec[] {
  const { hidden: d, heads, kvHeads, headDim: dh } = c;
  const out = [
    mat(`${p}q_proj.weight`, heads * dh, d),
    mat(`${p}k_proj.weight`, kvHeads * dh, d),
    mat(`${p}v_proj.weight`, kvHeads * dh, d),
    mat(`${p}o_proj.weight`, d, heads * dh),
    vec(`${p}q_norm.weight`, dh),
    vec(`${p}k_norm.weight`, dh),
  ];
  if (bias.qkv) out.push(vec(`${p}q_proj.bias`, heads * dh), vec(`${p}k_proj.bias`, kvHeads * dh), vec(`${p}v_proj.bias`, kvHeads * dh));
  if (bias.o) out.push(vec(`${p}o_proj.bias`, d));
  return out;
}

/** True when FFN number `ffnIndex` (SWA and HSA layers, counted from 0) is an MoE layer. */
export const isMoeFfn = (c: HsaConfig, ffnIndex: number): boolean => c.moe !== null && ffnIndex >= c.moe.firstKDenseReplace;

/** The FFN of a layer: dense `${p}${mlpName}.*` or MoE (`${p}${mlpName}.gate.weight`, experts, shared). */
export function ffnParams(c: HsaConfig, p: string, mlpName: 'mlp' | '_mlp', ffnIndex: number): ParamSpec[] {
  if (!isMoeFfn(c, ffnIndex)) return mlp(`${p}${mlpName}.`, c.intermediate, c.hidden);
  const m = c.moe!;
  const n = moeParameterNames(m, mlpName === 'mlp' ? p : `${p}_`);
  const d = c.hidden;
  const F = m.expertWidth;
  const moe = (name: string, shape: number[]): ParamSpec => ({ name, shape, kind: 'moe' });
  const out = [moe(n.gate, [m.experts, d]), moe(n.bias, [m.experts])];
  const proj = (x: { gate: string; up: string; down: string }, w: number) => [moe(x.gate, [w, d]), moe(x.up, [w, d]), moe(x.down, [d, w])];
  for (const e of n.experts) out.push(...proj(e, F));
  if (n.shared) out.push(...proj(n.shared, F * m.sharedExperts));
  return out;
}

function swaLayer(c: HsaConfig, p: string, ffn: number): ParamSpec[] {
  return [
    vec(`${p}input_layernorm.weight`, c.hidden),
    vec(`${p}post_attention_layernorm.weight`, c.hidden),
    ...attentionParams(c, `${p}self_attn.`, { qkv: c.attentionBias, o: c.attentionBias }),
    ...ffnParams(c, p, 'mlp', ffn),
  ];
}

function chunkingLayer(c: HsaConfig, p: string): ParamSpec[] {
  const d = c.hidden;
  const out: ParamSpec[] = [];
  if (c.enableEncCls) out.push({ name: `${p}cls_emb`, shape: [1, 1, d], kind: 'vector' });
  for (let j = 0; j < c.encoderLayers; j++) {
    const e = `${p}encoder.layers.${j}.`;
    out.push(vec(`${e}input_layernorm.weight`, d), vec(`${e}post_attention_layernorm.weight`, d));
    out.push(...attentionParams(c, `${e}self_attn.`, { qkv: true, o: false }), ...mlp(`${e}mlp.`, c.encoderIntermediate, d));
  }
  if (c.encoderLayers > 0) out.push(vec(`${p}encoder.norm.weight`, d));
  else out.push(vec(`${p}norm.weight`, d));
  if (c.encPrenorm && c.encoderLayers > 0) out.push(vec(`${p}enc_prenorm.weight`, d));
  out.push(mat(`${p}proj_k.weight`, c.kvHeads * c.headDim, d), mat(`${p}proj_v.weight`, c.kvHeads * c.headDim, d));
  if (c.enableQkNorm) out.push(vec(`${p}k_rmsnorm.weight`, c.headDim));
  out.push(mat(`${p}lmk_ln.weight`, c.retrievalDim, d));
  return out;
}

function retrievalLayer(c: HsaConfig, p: string): ParamSpec[] {
  const out = [vec(`${p}pre_norm.weight`, c.hidden), mat(`${p}ln.weight`, c.retrievalDim, c.hidden)];
  if (c.enableLmkNorm) out.push(vec(`${p}lmk_q_norm.weight`, c.retrievalHeadDim), vec(`${p}lmk_k_norm.weight`, c.retrievalHeadDim));
  if (c.enablePosDecay) out.push(vec(`${p}pos_decay`, 1));
  return out;
}

function hsaLayer(c: HsaConfig, p: string, ffn: number): ParamSpec[] {
  const d = c.hidden;
  const out: ParamSpec[] = [];
  if (!c.hsaOnly) out.push(vec(`${p}swa_prenorm.weight`, d), ...attentionParams(c, `${p}attn.`, { qkv: c.attentionBias, o: c.attentionBias }));
  out.push(vec(`${p}pre_norm.weight`, d), mat(`${p}q_proj.weight`, d, d), mat(`${p}o_proj.weight`, d, d));
  if (c.enableQkNorm) out.push(vec(`${p}q_norm.weight`, c.headDim));
  out.push(vec(`${p}_mlp_norm.weight`, d), ...ffnParams(c, p, '_mlp', ffn));
  return out;
}

/** Every parameter of the model, in state-dict order. */
export function parameterSpecs(c: HsaConfig): ParamSpec[] {
  const out: ParamSpec[] = [mat('backbone.embeddings.weight', c.vocabSize, c.hidden)];
  let ffn = 0;
  layerKinds(c).forEach((kind, i) => {
    const p = layerPrefix(i);
    if (kind === 'SWADecoderLayer') out.push(...swaLayer(c, p, ffn++));
    else if (kind === 'HierarchicalSparseAttention') out.push(...hsaLayer(c, p, ffn++));
    else if (kind === 'ChunkingLayer') out.push(...chunkingLayer(c, p));
    else out.push(...retrievalLayer(c, p));
  });
  out.push(vec('backbone.norm_f.weight', c.hidden));
  if (!c.tieWordEmbeddings) out.push(mat('lm_head.weight', c.vocabSize, c.hidden));
  return out;
}

/** Total parameter count (the golden config: 1,526,864). */
export const parameterCount = (c: HsaConfig): number => parameterSpecs(c).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
