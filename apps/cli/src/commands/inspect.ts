/**
 * `hsa inspect --model DIR`: the config summary (sizes, layer stack, HSA flags) and parameter counts
 * per part and per dtype on disk. Every weight is checked against the config (names, shapes, dtypes)
 * without uploading anything.
 */
import { formatMemoryPlan, type HsaConfig, layerKinds, type MemoryPlan, type ParamSpec, parseConfig, planMemory, planWeights } from '@hsa/model';
import { readModelDir } from '@hsa/model/node';
import type { Command } from 'commander';

export interface InspectReport {
  dir: string;
  config: HsaConfig;
  layers: string[];
  parameters: { total: number; byPart: Record<string, number>; byDtype: Record<string, number> };
  /** tensors in the checkpoint that the config does not use */
  unused: string[];
  /** memory at the requested context (matrices as stored on disk) */
  memory: MemoryPlan;
}

const count = (s: ParamSpec) => s.shape.reduce((a, b) => a * b, 1);

/** `backbone.layers.4.q_proj.weight` → `layers.4 HierarchicalSparseAttention`; others by their first name part. */
function part(name: string, kinds: string[]): string {
  const m = /^backbone\.layers\.(\d+)\./.exec(name);
  if (m) return `layers.${m[1]} ${kinds[Number(m[1])]}`;
  return name.replace(/^backbone\./, '').split('.')[0];
}

export async function inspectModel(dir: string, options: { config?: string; context?: number; segment?: number } = {}): Promise<InspectReport> {
  const files = await readModelDir(dir, { configPath: options.config });
  files.close(); // the headers are all inspect reads
  const config = parseConfig(files.configJson);
  const plan = planWeights(config, files.files, files.weightMap);
  const kinds = layerKinds(config);
  const byPart: Record<string, number> = {};
  const byDtype: Record<string, number> = {};
  for (const s of plan.specs) {
    const p = part(s.name, kinds);
    byPart[p] = (byPart[p] ?? 0) + count(s);
    const dtype = plan.where.get(s.name)!.file.entry(s.name).dtype;
    byDtype[dtype] = (byDtype[dtype] ?? 0) + count(s);
  }
  const total = plan.specs.reduce((n, s) => n + count(s), 0);
  const halfMatrices = (byDtype.BF16 ?? 0) + (byDtype.F16 ?? 0) > (byDtype.F32 ?? 0);
  const memory = planMemory(config, { context: options.context ?? 1 << 20, segment: options.segment, matrixBytes: halfMatrices ? 2 : 4 });
  return { dir, config, layers: kinds, parameters: { total, byPart, byDtype }, unused: plan.unused, memory };
}

const fmt = (n: number) => n.toLocaleString('en-US');

function print(r: InspectReport): void {
  const c = r.config;
  console.log(`model       ${r.dir}`);
  console.log(`sizes       vocab ${c.vocabSize}, d ${c.hidden}, heads ${c.heads} (KV ${c.kvHeads}, dh ${c.headDim}), FFN ${c.intermediate}`);
  console.log(`layers      ${c.numLowerLayers} lower SWA, chunking (encoder ${c.encoderLayers}), ${c.numUpperGroups} × (retrieval, HSA, ${c.layersPerGroup} SWA)`);
  console.log(`window      SWA ${c.slidingWindow}, HSA-layer SWA ${c.hsaOnly ? 'none (hsa_only)' : (c.hsaSlidingWindow ?? c.slidingWindow)}`);
  console.log(`HSA         chunk ${c.chunkSize}, top-${c.chunkTopk}, retrieval ${c.retrievalHeads} × ${c.retrievalHeadDim}, ${c.enableSoftmax ? 'softmax' : 'stick-breaking'} fusion`);
  const flags = ['enableQkNorm', 'enableLmkNorm', 'enableEncCls', 'encPrenorm', 'resetHsaResidual', 'maskSlideWindow', 'enableSoftmax1', 'enablePosDecay', 'tieWordEmbeddings', 'hsaRope'] as const;
  console.log(`flags       ${flags.filter((f) => c[f]).join(', ') || 'none'}`);
  if (c.moe) console.log(`MoE         ${c.moe.experts} experts, top-${c.moe.topk}, width ${c.moe.expertWidth}, shared ${c.moe.sharedExperts}, dense first ${c.moe.firstKDenseReplace}`);
  console.log(`parameters  ${fmt(r.parameters.total)} (${Object.entries(r.parameters.byDtype).map(([d, n]) => `${d} ${fmt(n)}`).join(', ')})`);
  for (const [p, n] of Object.entries(r.parameters.byPart)) console.log(`  ${p.padEnd(40)} ${fmt(n).padStart(14)}`);
  console.log(`memory      at ${fmt(r.memory.context)} tokens of context:`);
  for (const line of formatMemoryPlan(r.memory).split('\n')) console.log(`  ${line}`);
  if (r.unused.length) console.log(`unused      ${r.unused.length} tensors in the checkpoint: ${r.unused.slice(0, 5).join(', ')}${r.unused.length > 5 ? ', ...' : ''}`);
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('summarize a model directory (config, layers, parameter counts) and check its weights')
    .requiredOption('--model <dir>', 'model directory (config.json, model.safetensors or its index)')
    .option('--config <file>', 'config file (default <dir>/config.json)')
    .option('--context <tokens>', 'context length of the memory plan', (v) => Number.parseInt(v, 10), 1 << 20)
    .option('--segment <tokens>', 'prefill segment of the memory plan', (v) => Number.parseInt(v, 10))
    .option('--json', 'print JSON instead of text')
    .action(async (opts: { model: string; config?: string; json?: boolean; context?: number; segment?: number }) => {
      const r = await inspectModel(opts.model, { config: opts.config, context: opts.context, segment: opts.segment });
      if (opts.json) console.log(JSON.stringify(r, null, 2));
      else print(r);
    });
}
