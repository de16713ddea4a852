/**
 * The dense model of bench/train-step (pre-norm Llama-style decoder, batch 1): embedding, per layer
 * RMSNorm → q/k/v projections [T, H, Dh] → RoPE on q, k → causal attention (ag.swaAttention with
 * window ≥ T: the flash-style kernel) → output projection, RMSNorm → SwiGLU MLP; final RMSNorm, an
 * untied LM head, fused cross-entropy. Weights are [out, in] (nn.Linear), applied with transB.
 *
 * Weights and tokens come from a counter-based hash (murmur3's fmix32), so bench/train_step_torch.py
 * builds bit-identical f32 weights without any file travelling between the two processes.
 */
import { ag, type Backend, Parameter, Tensor } from '@hsa/tensor';

export interface DenseConfig {
  vocab: number;
  d: number;
  layers: number;
  heads: number;
  /** SwiGLU hidden width */
  ffn: number;
  /** tokens of the one sequence */
  tokens: number;
}

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
    paramSpecs(config).forEach((s, i) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const data = s.norm ? new Float32Array(n).fill(1) : hashUniform(n, i + 1, INIT_STD);
      const t = Tensor.from(backend, data, s.shape);
      this.byName.set(s.name, t);
      this.params.push(new Parameter(s.name, t, !s.norm));
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
    const proj = (w: string) => k(ag.reshape(k(ag.matmul(h, this.p(`l${l}.${w}`), { transB: true })), [tokens, heads, dh]));
    const q = k(ag.rope(proj('wq')));
    const kk = k(ag.rope(proj('wk')));
    const v = proj('wv');
    const att = k(ag.reshape(k(ag.swaAttention(q, kk, v, { window: tokens })), [tokens, d]));
    const x1 = k(ag.add(x, k(ag.matmul(att, this.p(`l${l}.wo`), { transB: true }))));
    const h2 = k(ag.rmsNorm(x1, this.p(`l${l}.mlpNorm`)));
    const g = k(ag.matmul(h2, this.p(`l${l}.wGate`), { transB: true }));
    const u = k(ag.matmul(h2, this.p(`l${l}.wUp`), { transB: true }));
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
