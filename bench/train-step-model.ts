/**
 * The dense model of bench/train-step (pre-norm Llama-style decoder, batch 1): embedding, per layer
 * RMSNorm → q/k/v projections [T, H, Dh] → RoPE on q, k → causal attention (ag.swaAttention with
 * window ≥ T: the flash-style kernel) → output projection, RMSNorm → SwiGLU MLP; final RMSNorm, an
 * untied LM head, fused cross-entropy. Weights are [out, in] (nn.Linear), applied with transB.
 * `fused`: each layer's q / k / v weights are one parameter [3, d, d] and gate / up one [2, ffn, d],
 * each applied as one batched matmul of the shared input (ag.matmul's broadcast A), its outputs split
 * by ag.unbind (views); the same numbers as the separate weights, fewer and larger GEMMs.
 *
 * Weights and tokens come from a counter-based hash (murmur3's fmix32), so bench/train_step_torch.py
 * builds bit-identical f32 weights without any file travelling between the two processes.
 */
import { ag, type Backend, numel, Parameter, Tensor } from '@hsa/tensor';

export interface DenseConfig {
  vocab: number;
  d: number;
  layers: number;
  heads: number;
  /** SwiGLU hidden width */
  ffn: number;
  /** tokens of the one sequence */
  tokens: number;
  /** q / k / v and gate / up weights stored and applied together (see the header) */
  fused?: boolean;
}

/** Fused parameter of a layer and the separate weights (paramSpecs names) it stacks, in order. */
const FUSED: readonly [string, readonly string[]][] = [
  ['wqkv', ['wq', 'wk', 'wv']],
  ['wGateUp', ['wGate', 'wUp']],
];

/** Init std of every matrix (GPT-2's 0.02); norms start at 1. */
export const INIT_STD = 0.02;

/** A collector that registers intermediates for disposal at the end of a forward (the tape keeps views). */
function keeper(scope: Tensor[]): (t: Tensor) => Tensor {
  return (t) => {
    scope.push(t);
    return t;
  };
}

/** murmur3 fmix32 of (i + seed·φ), as uint32. */
function fmix32(i: number, seed: number): number {
  let x = (i + Math.imul(seed, 0x9e3779b9)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** n f32 values uniform in [−a, a) with std `std` (a = √3·std, rounded to f32 as numpy does). */
export function hashUniform(n: number, seed: number, std: number): Float32Array {
  const a = Math.fround(Math.sqrt(3) * std);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(((fmix32(i, seed) >>> 8) * 2 ** -23 - 1) * a);
  return out;
}

/** n token ids in [0, vocab) from the same hash. */
export function hashTokens(n: number, seed: number, vocab: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => fmix32(i, seed) % vocab);
}

/** Parameter names in creation order (the torch script creates them in the same order, same seeds). */
export function paramSpecs(c: DenseConfig): { name: string; shape: number[]; norm: boolean }[] {
  const out: { name: string; shape: number[]; norm: boolean }[] = [{ name: 'embed', shape: [c.vocab, c.d], norm: false }];
  for (let l = 0; l < c.layers; l++) {
    out.push({ name: `l${l}.attnNorm`, shape: [c.d], norm: true });
    for (const w of ['wq', 'wk', 'wv', 'wo']) out.push({ name: `l${l}.${w}`, shape: [c.d, c.d], norm: false });
    out.push({ name: `l${l}.mlpNorm`, shape: [c.d], norm: true });
    out.push({ name: `l${l}.wGate`, shape: [c.ffn, c.d], norm: false });
    out.push({ name: `l${l}.wUp`, shape: [c.ffn, c.d], norm: false });
    out.push({ name: `l${l}.wDown`, shape: [c.d, c.ffn], norm: false });
  }
  out.push({ name: 'finalNorm', shape: [c.d], norm: true });
  out.push({ name: 'lmHead', shape: [c.vocab, c.d], norm: false });
  return out;
}

/** Model FLOPs of one forward + backward: 6·(matmul params)·T plus causal attention 6·L·T²·d. */
export function stepFlops(c: DenseConfig): { matmul: number; attention: number; total: number } {
  const perLayer = 4 * c.d * c.d + 3 * c.d * c.ffn;
  const matmulParams = c.layers * perLayer + c.vocab * c.d; // the LM head; the embedding is a lookup
  const matmul = 6 * matmulParams * c.tokens;
  // forward q·kᵀ and p·v over the causal half: 2·T²·d per layer; backward twice the forward
  const attention = 6 * c.layers * c.tokens * c.tokens * c.d;
  return { matmul, attention, total: matmul + attention };
}

export class DenseModel {
  readonly params: Parameter[] = [];
  private readonly byName = new Map<string, Tensor>();

  constructor(
    readonly backend: Backend,
    readonly config: DenseConfig,
  ) {
    if (config.d % config.heads !== 0) throw new Error(`d ${config.d} is not a multiple of heads ${config.heads}`);
    const specs = paramSpecs(config);
    const data = specs.map((s, i) => (s.norm ? new Float32Array(numel(s.shape)).fill(1) : hashUniform(numel(s.shape), i + 1, INIT_STD)));
    const add = (name: string, values: Float32Array, shape: number[], decay: boolean) => {
      const t = Tensor.from(backend, values, shape);
      this.byName.set(name, t);
      this.params.push(new Parameter(name, t, decay));
    };
    const stacked = new Set<number>();
    specs.forEach((s, i) => {
      if (stacked.has(i)) return;
      const [layer, w] = s.name.split('.');
      const group = config.fused ? FUSED.find(([, parts]) => parts[0] === w) : undefined;
      if (!group) {
        add(s.name, data[i], s.shape, !s.norm);
        return;
      }
      // the parts follow each other in paramSpecs: stack their values as [parts, out, in]
      const idx = group[1].map((part) => specs.findIndex((x) => x.name === `${layer}.${part}`));
      for (const j of idx) stacked.add(j);
      const values = new Float32Array(idx.reduce((n, j) => n + data[j].length, 0));
      let at = 0;
      for (const j of idx) {
        values.set(data[j], at);
        at += data[j].length;
      }
      add(`${layer}.${group[0]}`, values, [idx.length, ...s.shape], true);
    });
  }

  private p(name: string): Tensor {
    const t = this.byName.get(name);
    if (!t) throw new Error(`internal: no parameter ${name}`);
    return t;
  }

  /** Mean next-token cross-entropy; ids, targets i32 [T]. */
  loss(ids: Tensor, targets: Tensor): Tensor {
    const scope: Tensor[] = [];
    const k = keeper(scope);
    let x = k(ag.embedding(this.p('embed'), ids));
    for (let l = 0; l < this.config.layers; l++) x = k(this.layer(l, x));
    const h = k(ag.rmsNorm(x, this.p('finalNorm')));
    const logits = k(ag.matmul(h, this.p('lmHead'), { transB: true }));
    const loss = ag.crossEntropy(logits, targets);
    for (const t of scope) t.dispose();
    return loss;
  }

  /** x [T, d] → x + attn(norm(x)), then + mlp(norm(·)). */
  private layer(l: number, x: Tensor): Tensor {
    const scope: Tensor[] = [];
    const k = keeper(scope);
    const { heads, d, tokens } = this.config;
    const dh = d / heads;
    const h = k(ag.rmsNorm(x, this.p(`l${l}.attnNorm`)));
    const linear = (input: Tensor, w: string) => k(ag.matmul(input, this.p(`l${l}.${w}`), { transB: true }));
    // the fused layout: one batched product of the shared input, split into views
    const projections = (input: Tensor, fused: string, parts: string[]) =>
      this.config.fused ? ag.unbind(linear(input, fused)).map(k) : parts.map((w) => linear(input, w));
    const [q0, k0, v0] = projections(h, 'wqkv', ['wq', 'wk', 'wv']).map((t) => k(ag.reshape(t, [tokens, heads, dh])));
    const q = k(ag.rope(q0));
    const kk = k(ag.rope(k0));
    const att = k(ag.reshape(k(ag.swaAttention(q, kk, v0, { window: tokens })), [tokens, d]));
    const x1 = k(ag.add(x, linear(att, 'wo')));
    const h2 = k(ag.rmsNorm(x1, this.p(`l${l}.mlpNorm`)));
    const [g, u] = projections(h2, 'wGateUp', ['wGate', 'wUp']);
    const down = k(ag.matmul(k(ag.swiglu(g, u)), this.p(`l${l}.wDown`), { transB: true }));
    const out = ag.add(x1, down);
    for (const s of scope) s.dispose();
    return out;
  }

  dispose(): void {
    for (const p of this.params) {
      p.zeroGrad();
      p.value.dispose();
    }
  }
}
