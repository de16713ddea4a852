/** HsaModel: a validated config and its weights on one backend, with the full-sequence forward. */
import type { Backend, Tensor } from '@hsa/tensor';
import { type HsaConfig, parseConfig } from './config.js';
import { type ForwardOptions, forward } from './forward.js';
import { type GeneratedToken, type GenerateOptions, type GenerationResult, generate, generateText, type StreamedPrompt } from './generate/generate.js';
import { type MemoryPlan, type MemoryPlanOptions, planMemory } from './memory-plan.js';
import { parameterCount } from './params.js';
import { type LoadWeightsOptions, loadWeights, type ModelWeights, type WeightFile } from './weights.js';

export class HsaModel {
  constructor(
    readonly config: HsaConfig,
    readonly weights: ModelWeights,
    /** the config.json it was loaded from (saving writes it back) */
    readonly configJson?: unknown,
  ) {}

  /**
   * From a parsed config.json and safetensors files: the config is validated, then every weight is
   * checked before any is uploaded.
   */
  static load(backend: Backend, configJson: unknown, files: readonly WeightFile[], options: LoadWeightsOptions & { weightMap?: Record<string, string> } = {}): HsaModel {
    const config = parseConfig(configJson);
    return new HsaModel(config, loadWeights(backend, config, files, options), configJson);
  }

  get backend(): Backend {
    return this.weights.backend;
  }

  /** The memory plan at a context length (weights as held now, caches, chunk memory, activations). */
  memoryPlan(context: number, options: Omit<MemoryPlanOptions, 'context' | 'matrixBytes' | 'maxBindingBytes'> = {}): MemoryPlan {
    const probe = this.weights.names.find((n) => n.endsWith('q_proj.weight'));
    const matrixBytes = probe && this.weights.get(probe).dtype !== 'f32' ? 2 : 4;
    return planMemory(this.config, { ...options, context, matrixBytes, maxBindingBytes: this.backend.maxBindingBytes });
  }

  /** Parameters the config implies. */
  get parameterCount(): number {
    return parameterCount(this.config);
  }

  /** Logits [L, vocab] (f32) of token ids [L]. */
  forward(ids: ArrayLike<number>, options: ForwardOptions = {}): Promise<Tensor> {
    return forward(this.config, this.weights, ids, options);
  }

  /** Streams up to maxNewTokens tokens after the prompt ids (see generate). */
  generate(prompt: ArrayLike<number> | StreamedPrompt, options: GenerateOptions = {}): AsyncGenerator<GeneratedToken, GenerationResult> {
    return generate(this, prompt, options);
  }

  /** Generates to the end → ids, text and timings. */
  generateText(prompt: ArrayLike<number> | StreamedPrompt, options: GenerateOptions = {}): Promise<GenerationResult> {
    return generateText(this, prompt, options);
  }

  dispose(): void {
    this.weights.dispose();
  }
}
