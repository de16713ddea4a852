/**
 * A small decoder-only Transformer built from the differentiable primitives: embedding, RMSNorm,
 * causal attention composed as softmax(q·kᵀ/√Dh + mask)·v with RoPE, SwiGLU MLP, cross-entropy.
 * Weights are stored [out, in] (nn.Linear) and applied with transB. Shapes: ids, targets [B, T].
 */
import * as ag from '../autograd/index.js';
import { Parameter } from '../autograd/parameter.js';
import type { Backend } from '../backend.js';
import { Tensor } from '../tensor.js';
import type { Rng } from './rng.js';

export interface TinyTransformerConfig {
  vocab: number;
  d: number;
  layers: number;
  heads: number;
  /** SwiGLU hidden width */
  ffn: number;
  /** recompute each layer's activations in backward instead of storing them */
  checkpointLayers?: boolean;
}

/** Bytes a training step needs, planned before anything is allocated. */
export interface MemoryPlan {
  params: number;
  grads: number;
  optimizer: number;
  /** activations kept for backward (per layer stored unless checkpointed), plus logits and their gradient */
  activations: number;
  total: number;
}

/** Registers intermediates for disposal at the end of a forward (the tape holds its own views). */
function keeper(scope: Tensor[]): (t: Tensor) => Tensor {
  return (t) => {
    scope.push(t);
    return t;
  };
}

export class TinyTransformer {
  readonly params: Parameter[] = [];
  private readonly masks = new Map<number, Tensor>();

  constructor(
    readonly backend: Backend,
    readonly config: TinyTransformerConfig,
    rng: Rng,
  ) {
    const { vocab, d, layers, ffn } = config;
    const mat = (name: string, rows: number, cols: number, std: number) => this.add(name, [rows, cols], () => rng.normal() * std, true);
    const ones = (name: string) => this.add(name, [d], () => 1, false);
    mat('embed', vocab, d, 1);
    for (let l = 0; l < layers; l++) {
      ones(`l${l}.attnNorm`);
      for (const w of ['wq', 'wk', 'wv', 'wo']) mat(`l${l}.${w}`, d, d, 1 / Math.sqrt(d));
      ones(`l${l}.mlpNorm`);
      mat(`l${l}.wGate`, ffn, d, 1 / Math.sqrt(d));
      mat(`l${l}.wUp`, ffn, d, 1 / Math.sqrt(d));
      mat(`l${l}.wDown`, d, ffn, 1 / Math.sqrt(ffn));
    }
    ones('finalNorm');
    mat('lmHead', vocab, d, 1 / Math.sqrt(d));
  }

  private add(name: string, shape: number[], init: () => number, decay: boolean): void {
    const data = Float32Array.from({ length: shape.reduce((a, c) => a * c, 1) }, init);
    this.params.push(new Parameter(name, Tensor.from(this.backend, data, shape), decay));
  }

  private p(name: string): Tensor {
    const p = this.params.find((q) => q.name === name);
    if (!p) throw new Error(`internal: no parameter ${name}`);
    return p.value;
  }

  /** [T, T] additive causal mask: 0 on and below the diagonal, −1e9 above. */
  private mask(t: number): Tensor {
    let m = this.masks.get(t);
    if (!m) {
      const data = new Float32Array(t * t);
      for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) data[i * t + j] = -1e9;
      this.masks.set(t, (m = Tensor.from(this.backend, data, [t, t])));
    }
    return m;
  }

  /** Mean cross-entropy of the next-token predictions (targets outside [0, vocab) are ignored). */
  loss(ids: Tensor, targets: Tensor): Tensor {
    const scope: Tensor[] = [];
    const k = keeper(scope);
    let x = k(ag.embedding(this.p('embed'), ids));
    for (let l = 0; l < this.config.layers; l++) {
      const block = (h: Tensor) => this.layer(l, h);
      x = k(this.config.checkpointLayers ? ag.checkpoint(block, [x]) : block(x));
    }
    const h = k(ag.rmsNorm(x, this.p('finalNorm')));
    const logits = k(ag.matmul(h, this.p('lmHead'), { transB: true }));
    const loss = ag.crossEntropy(logits, targets);
    for (const t of scope) t.dispose();
    return loss;
  }

  /** One pre-norm block: x + attn(norm(x)), then + mlp(norm(·)). x is [B, T, d]. */
  private layer(l: number, x: Tensor): Tensor {
    const scope: Tensor[] = [];
    const k = keeper(scope);
    const [b, t, d] = x.shape;
    const { heads } = this.config;
    const dh = d / heads;
    const h = k(ag.rmsNorm(x, this.p(`l${l}.attnNorm`)));
    const proj = (w: string, rot: boolean) => {
      const y = k(ag.reshape(k(ag.matmul(h, this.p(`l${l}.${w}`), { transB: true })), [b, t, heads, dh]));
      const r = rot ? k(ag.rope(y)) : y;
      return k(ag.contiguous(k(ag.permute(r, [0, 2, 1, 3]))));
    };
    const q = proj('wq', true);
    const kk = proj('wk', true);
    const v = proj('wv', false);
    const scores = k(ag.scale(k(ag.matmul(q, kk, { transB: true })), 1 / Math.sqrt(dh)));
    const probs = k(ag.softmax(k(ag.add(scores, this.mask(t)))));
    const att = k(ag.matmul(probs, v));
    const merged = k(ag.reshape(k(ag.contiguous(k(ag.permute(att, [0, 2, 1, 3])))), [b, t, d]));
    const x1 = k(ag.add(x, k(ag.matmul(merged, this.p(`l${l}.wo`), { transB: true }))));
    const h2 = k(ag.rmsNorm(x1, this.p(`l${l}.mlpNorm`)));
    const g = k(ag.matmul(h2, this.p(`l${l}.wGate`), { transB: true }));
    const u = k(ag.matmul(h2, this.p(`l${l}.wUp`), { transB: true }));
    const down = k(ag.matmul(k(ag.swiglu(g, u)), this.p(`l${l}.wDown`), { transB: true }));
    const out = ag.add(x1, down);
    for (const s of scope) s.dispose();
    return out;
  }

  /** The memory a training step of batch b × seq t needs (f32), known before it runs. */
  memoryPlan(b: number, t: number): MemoryPlan {
    const { vocab, d, layers, heads, ffn, checkpointLayers } = this.config;
    const params = this.params.reduce((s, p) => s + p.value.size, 0) * 4;
    const n = b * t;
    // per layer: norms, q/k/v (+ roped and permuted copies), scores, probs, att, merged, mlp
    const perLayer = (n * (10 * d + 3 * ffn) + 3 * b * heads * t * t) * 4;
    const stored = checkpointLayers ? layers * n * d * 4 + perLayer : layers * perLayer;
    const activations = stored + 2 * n * vocab * 4 + n * d * 8;
    const total = params * 4 + activations;
    return { params, grads: params, optimizer: 2 * params, activations, total };
  }

  dispose(): void {
    for (const p of this.params) {
      p.zeroGrad();
      p.value.dispose();
    }
    for (const m of this.masks.values()) m.dispose();
  }
}
