/**
 * Compute pipelines cached by program key (kernel + specialization), so a new sequence length never
 * recompiles a shader. Layouts are explicit: binding 0 is a uniform with a dynamic offset, storage
 * buffers follow.
 */
import type { Program } from '@hsa/kernels';

export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

export class PipelineCache {
  private readonly pipelines = new Map<string, CachedPipeline>();
  compiles = 0;

  constructor(private readonly device: GPUDevice) {}

  get(program: Program): CachedPipeline {
    const hit = this.pipelines.get(program.key);
    if (hit) return hit;
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: 4 /* COMPUTE */, buffer: { type: 'uniform', hasDynamicOffset: true } },
      ...program.buffers.map(
        (b, i): GPUBindGroupLayoutEntry => ({
          binding: i + 1,
          visibility: 4,
          buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' },
        }),
      ),
    ];
    const layout = this.device.createBindGroupLayout({ label: program.key, entries });
    const module = this.device.createShaderModule({ label: program.key, code: program.code() });
    const pipeline = this.device.createComputePipeline({
      label: program.key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    const entry = { pipeline, layout };
    this.pipelines.set(program.key, entry);
    this.compiles++;
    return entry;
  }

  get size(): number {
    return this.pipelines.size;
  }
}
