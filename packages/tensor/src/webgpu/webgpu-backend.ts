/**
 * The WebGPU backend. Kernels are encoded into one open compute pass and submitted together (on a
 * read, a copy, or when the uniform arena fills), bind groups are cached by the buffers they bind,
 * uniforms live in one arena buffer bound with dynamic offsets.
 */
import {
  BackendError,
  type DeviceCaps,
  DeviceLostError,
  type HsaError,
  type Kernel,
  OutOfMemoryError,
  type SubgroupMatrixConfig,
} from '@hsa/kernels';
import type { AdapterReport, Backend, KernelArg, Storage } from '../backend.js';
import { BufferPool } from './buffer-pool.js';
import { type AcquiredDevice, type AcquireOptions, acquireDevice, readLimits, SUBGROUP_MATRIX_FEATURE } from './device.js';
import { PipelineCache } from './pipeline-cache.js';

class GpuStorage implements Storage {
  constructor(
    readonly backend: WebGpuBackend,
    public buffer: GPUBuffer | null,
    readonly bytes: number,
  ) {}
}

const ARENA_BYTES = 1 << 18;
const UNIFORM_SLOT = 256;
const MAX_PENDING_DISPATCHES = 1024;

export interface WebGpuBackendOptions extends AcquireOptions {
  /** Override the largest binding (tests lower it to exercise tensor splitting). */
  maxBindingBytes?: number;
  /** Fill every new allocation with NaN bits so unwritten outputs are caught (tests). */
  poison?: boolean;
  /** Bytes of released buffers kept for reuse (default 1 GiB); beyond it they are destroyed. */
  maxPooledBytes?: number;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly caps: DeviceCaps;
  readonly maxBindingBytes: number;
  readonly bindOffsetAlignment: number;
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  private readonly arena: GPUBuffer;
  private readonly arenaHost = new Uint8Array(ARENA_BYTES);
  private arenaUsed = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private lostReason: string | null = null;
  /** Buffers the pool gave up, destroyed after the submission that may still reference them. */
  private doomed: GPUBuffer[] = [];
  private firstError: HsaError | null = null;
  dispatches = 0;
  submits = 0;
  private readonly poison: boolean;

  private readonly robustness: boolean;

  private constructor(
    private readonly acquired: AcquiredDevice,
    options: WebGpuBackendOptions,
  ) {
    // robustness: false reaches Dawn only in Node (browsers always keep it)
    this.robustness = options.robustness !== false || !!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
    const device = acquired.device;
    this.device = device;
    const l = device.limits;
    const info = acquired.adapter.info as {
      subgroupMinSize?: number;
      subgroupMaxSize?: number;
      subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[];
    };
    this.caps = {
      maxInvocations: l.maxComputeInvocationsPerWorkgroup,
      maxWorkgroupStorage: l.maxComputeWorkgroupStorageSize,
      maxWorkgroupsPerDim: l.maxComputeWorkgroupsPerDimension,
      subgroups: device.features.has('subgroups'),
      subgroupMinSize: info.subgroupMinSize ?? 4,
      subgroupMaxSize: info.subgroupMaxSize,
      maxStorageBuffers: l.maxStorageBuffersPerShaderStage,
      shaderF16: device.features.has('shader-f16'),
      subgroupMatrix: device.features.has(SUBGROUP_MATRIX_FEATURE)
        ? (info.subgroupMatrixConfigs ?? []).map(({ componentType, resultComponentType, M, N, K }) => ({ componentType, resultComponentType, M, N, K }))
        : [],
    };
    this.maxBindingBytes = Math.min(options.maxBindingBytes ?? Number.POSITIVE_INFINITY, l.maxStorageBufferBindingSize);
    this.bindOffsetAlignment = l.minStorageBufferOffsetAlignment;
    this.poison = options.poison ?? false;
    this.pool = new BufferPool(device, options.maxPooledBytes);
    this.pipelines = new PipelineCache(device);
    this.arena = device.createBuffer({ size: ARENA_BYTES, usage: 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */ });
    device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
    });
    device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      const isOom = err.constructor?.name === 'GPUOutOfMemoryError';
      this.firstError ??= isOom
        ? new OutOfMemoryError(`GPU out of memory: ${err.message}`)
        : new BackendError(`WebGPU error: ${err.message}`);
    });
  }

  static async create(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    return new WebGpuBackend(await acquireDevice(options), options);
  }

  private check(): void {
    if (this.lostReason !== null) throw new DeviceLostError(`WebGPU device lost (${this.lostReason}); create a new backend`);
  }

  private own(s: Storage): GpuStorage {
    if (!(s instanceof GpuStorage) || s.backend !== this) throw new BackendError('storage belongs to another backend or device');
    if (!s.buffer) throw new BackendError('storage used after release');
    return s;
  }

  reservePool(bytes: number): void {
    this.pool.reserve(bytes);
  }

  alloc(bytes: number): Storage {
    this.check();
    const max = this.device.limits.maxBufferSize;
    if (bytes > max) {
      throw new OutOfMemoryError(`allocation of ${bytes} bytes exceeds this device's maxBufferSize (${max} bytes)`);
    }
    const storage = new GpuStorage(this, this.pool.acquire(bytes), bytes);
    if (this.poison) this.write(storage, new Uint32Array(Math.ceil(bytes / 4)).fill(0x7fc0dead));
    return storage;
  }

  write(storage: Storage, data: ArrayBufferView, byteOffset = 0): void {
    this.check();
    const buf = this.own(storage).buffer!;
    // queue.writeBuffer lands before commands not yet submitted: submit them first.
    if (this.pending > 0) this.flush();
    const len = data.byteLength;
    if (len % 4 === 0) this.device.queue.writeBuffer(buf, byteOffset, data.buffer, data.byteOffset, len);
    else {
      const padded = new Uint8Array(Math.ceil(len / 4) * 4);
      padded.set(new Uint8Array(data.buffer, data.byteOffset, len));
      this.device.queue.writeBuffer(buf, byteOffset, padded);
    }
  }

  private ensurePass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return this.encoder;
  }

  /** Submits everything queued so far. */
  flush(): void {
    if (!this.encoder) return;
    const enc = this.endPass();
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arena, 0, this.arenaHost, 0, this.arenaUsed);
    this.device.queue.submit([enc.finish()]);
    for (const b of this.doomed) b.destroy();
    this.doomed = [];
    this.encoder = null;
    this.arenaUsed = 0;
    this.pending = 0;
    this.submits++;
  }

  run<P>(kernel: Kernel<P>, params: P, args: readonly KernelArg[]): void {
    this.check();
    const program = kernel.program(params, this.caps);
    if (program.buffers.length !== args.length) {
      throw new BackendError(`${kernel.name}: program binds ${program.buffers.length} buffers, got ${args.length}`);
    }
    const [x, y, z] = program.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const uniformBytes = program.uniforms?.byteLength ?? 0;
    if (uniformBytes > UNIFORM_SLOT) throw new BackendError(`${kernel.name}: uniforms over ${UNIFORM_SLOT} bytes`);
    if (this.arenaUsed + UNIFORM_SLOT > ARENA_BYTES || this.pending >= MAX_PENDING_DISPATCHES) this.flush();
    const offset = this.arenaUsed;
    if (program.uniforms) this.arenaHost.set(new Uint8Array(program.uniforms), offset);
    this.arenaUsed += UNIFORM_SLOT;
    const { pipeline, layout } = this.pipelines.get(program);
    const pass = this.ensurePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.bindGroup(program.key, layout, args), [offset]);
    pass.dispatchWorkgroups(x, y, z);
    this.pending++;
    this.dispatches++;
  }

  private bindGroup(key: string, layout: GPUBindGroupLayout, args: readonly KernelArg[]): GPUBindGroup {
    const bufs = args.map((a) => this.own(a.storage).buffer!);
    // the bound size is part of the key: a pooled buffer is reused by storages of other sizes
    const sizes = args.map((a) => Math.ceil((a.bytes ?? a.storage.bytes - (a.byteOffset ?? 0)) / 4) * 4);
    const id = `${key}|${args.map((a, i) => `${this.pool.id(bufs[i])}:${a.byteOffset ?? 0}:${sizes[i]}`).join(',')}`;
    let group = this.bindGroups.get(id);
    if (group) return group;
    if (this.bindGroups.size > 8192) this.bindGroups.clear();
    group = this.device.createBindGroup({
      layout,
      entries: [
        { binding: 0, resource: { buffer: this.arena, offset: 0, size: UNIFORM_SLOT } },
        ...args.map((a, i) => ({
          binding: i + 1,
          resource: {
            buffer: bufs[i],
            offset: a.byteOffset ?? 0,
            size: sizes[i],
          },
        })),
      ],
    });
    this.bindGroups.set(id, group);
    return group;
  }

  copy(src: Storage, srcOffset: number, dst: Storage, dstOffset: number, bytes: number): void {
    this.check();
    const enc = this.endPass();
    enc.copyBufferToBuffer(this.own(src).buffer!, srcOffset, this.own(dst).buffer!, dstOffset, Math.ceil(bytes / 4) * 4);
    this.pending++;
  }

  async read(storage: Storage, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    this.check();
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ size: Math.max(size, 4), usage: 0x01 /* MAP_READ */ | 0x08 });
    const enc = this.endPass();
    enc.copyBufferToBuffer(this.own(storage).buffer!, byteOffset, staging, 0, size);
    this.pending++;
    this.flush();
    try {
      await staging.mapAsync(0x01 /* READ */);
    } catch (e) {
      this.check();
      throw new BackendError(`reading back ${bytes} bytes failed: ${(e as Error).message}`);
    }
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    this.raiseRecorded();
    return out;
  }

  private raiseRecorded(): void {
    this.check();
    const err = this.firstError;
    if (err) {
      this.firstError = null;
      throw err;
    }
  }

  release(storage: Storage): void {
    const s = storage as GpuStorage;
    if (s.backend !== this || !s.buffer) return;
    for (const b of this.pool.release(s.buffer)) {
      if (this.encoder) this.doomed.push(b);
      else b.destroy();
    }
    s.buffer = null;
  }

  /**
   * Profiling: a GPU timestamp (an empty compute pass writing `index` of `querySet`, which needs the
   * 'timestamp-query' feature) at this point of the queued work, in the same submission as it.
   */
  timestamp(querySet: GPUQuerySet, index: number): void {
    this.check();
    this.endPass().beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: index } }).end();
  }

  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.raiseRecorded();
  }

  report(): AdapterReport {
    const info = this.acquired.adapter.info;
    return {
      backend: 'webgpu',
      description: [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / '),
      vendor: info.vendor,
      architecture: info.architecture,
      software: info.architecture === 'swiftshader' || info.vendor === 'mesa' || !!this.acquired.softwareFallback,
      note: this.acquired.softwareFallback,
      features: [...this.device.features].sort(),
      limits: readLimits(this.device.limits),
      ...(this.caps.subgroupMatrix?.length ? { subgroupMatrix: this.caps.subgroupMatrix.map((c) => `${c.componentType}→${c.resultComponentType} ${c.M}×${c.N}×${c.K}`) } : {}),
      ...(this.robustness ? {} : { robustness: false }),
    };
  }

  destroy(): void {
    this.flush();
    this.pool.trim();
    this.device.destroy();
  }
}
