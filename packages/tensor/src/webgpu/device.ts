/**
 * Acquiring a WebGPU device: navigator.gpu in browsers, Dawn (`webgpu` npm package) in Node. Asks for
 * the adapter's maximum limits and the optional features we use, and reports why when it fails.
 */
import { UnsupportedError } from '@hsa/kernels';

const LIMIT_NAMES = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxBindGroups',
  'maxBindingsPerBindGroup',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
  'maxDynamicUniformBuffersPerPipelineLayout',
] as const;

const OPTIONAL_FEATURES = ['subgroups', 'timestamp-query'] as const;

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface AcquiredDevice {
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  /** Why Vulkan was pointed at SwiftShader, if it was. */
  readonly softwareFallback?: string;
}

export interface AcquireOptions {
  /** Dawn toggles for Node (default `backend=vulkan`). */
  dawnFlags?: string[];
  powerPreference?: GPUPowerPreference;
  /**
   * Ask for f16 subgroup matrices (matrix units, e.g. tensor cores) where the adapter has them:
   * requests `chromium-experimental-subgroup-matrix` and `shader-f16`. In Node this also enables the
   * Dawn toggles they need (`allow_unsafe_apis`, which experimental features require, and
   * `vulkan_enable_f16_on_nvidia`, which Dawn leaves off by default on NVIDIA's Vulkan driver).
   * Kernels with an `mma` variant use them; results are checked against the references on the
   * device by bench/attention. Default false.
   */
  subgroupMatrix?: boolean;
  /**
   * Node only: false turns off Dawn's robustness (the bounds clamp on every array index in the
   * shaders, and Vulkan's robust buffer access), through the toggles in ROBUSTNESS_OFF_TOGGLES.
   * Faster (H200, 6503b66: f32 GEMM 4096³ 3.99 → 3.69 ms, bench/train-step 94.8 → 91.7 ms), and
   * safe only for kernels that never index out of bounds: ours are written to stay in bounds and
   * tested so, but a bug would then read or write other memory of the process instead of a clamped
   * element. Browsers always keep robustness. Default true.
   */
  robustness?: boolean;
}

/** The Dawn toggles of `robustness: false` (disable_robustness needs allow_unsafe_apis). */
export const ROBUSTNESS_OFF_TOGGLES = ['allow_unsafe_apis', 'disable_robustness'];

/** `flags` with the toggles that `options` asks for (subgroup matrices, robustness off). */
export function dawnFlagsFor(flags: string[], options: Pick<AcquireOptions, 'subgroupMatrix' | 'robustness'>): string[] {
  const toggles = [...(options.subgroupMatrix ? SUBGROUP_MATRIX_TOGGLES : []), ...(options.robustness === false ? ROBUSTNESS_OFF_TOGGLES : [])];
  return toggles.length > 0 ? withDawnToggles(flags, toggles) : flags;
}

export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix';
const SUBGROUP_MATRIX_TOGGLES = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'];

/** `flags` with the toggles in `toggles` added to its `enable-dawn-features=` entry (one is created if absent). */
export function withDawnToggles(flags: string[], toggles: string[]): string[] {
  const key = 'enable-dawn-features=';
  const i = flags.findIndex((f) => f.startsWith(key));
  const have = i >= 0 ? flags[i].slice(key.length).split(',').filter(Boolean) : [];
  const entry = key + [...new Set([...have, ...toggles])].join(',');
  return i >= 0 ? flags.map((f, j) => (j === i ? entry : f)) : [...flags, entry];
}

// dawn.node aborts the process if the object returned by create() is garbage-collected while a
// device from it lives (ecosystem.md): keep every one of them reachable for the process lifetime.
const keepAlive: unknown[] = [];

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

/**
 * With no GPU on this machine and no Vulkan driver chosen (VK_ICD_FILENAMES / VK_DRIVER_FILES), point the loader at Chromium's SwiftShader (a
 * CPU Vulkan driver) so WebGPU works without a GPU. Returns the reason when it did.
 */
export async function useSoftwareVulkanIfNoDriver(): Promise<string | undefined> {
  if (!isNode() || process.platform !== 'linux') return undefined;
  const fsName = 'node:fs';
  const { existsSync, readdirSync } = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs');
  const env = process.env;
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || env.HSA_NO_SOFTWARE_VULKAN) return undefined;
  // A hardware driver needs a GPU device node; software ICDs such as Debian 12's lavapipe are
  // rejected by Dawn, so without a device node SwiftShader is the one that works.
  const devices = existsSync('/dev/dri') ? readdirSync('/dev/dri').filter((f) => f.startsWith('render')) : [];
  const hasGpu = devices.length > 0 || existsSync('/dev/nvidia0') || existsSync('/dev/dxg');
  if (hasGpu || !existsSync(SWIFTSHADER_ICD)) return undefined;
  env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  env.XDG_RUNTIME_DIR ??= '/tmp';
  return `no GPU device found: using SwiftShader, a CPU Vulkan driver (${SWIFTSHADER_ICD})`;
}

async function getGpu(options: AcquireOptions): Promise<{ gpu: GPU; softwareFallback?: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu };
  if (!isNode()) throw new UnsupportedError('WebGPU is not available in this browser (navigator.gpu is missing)');
  const softwareFallback = await useSoftwareVulkanIfNoDriver();
  const specifier = 'webgpu';
  let mod: { create(flags: string[]): GPU; globals: Record<string, unknown> };
  try {
    mod = await import(/* @vite-ignore */ specifier);
  } catch (e) {
    throw new UnsupportedError(`the 'webgpu' package (Dawn for Node) failed to load: ${(e as Error).message}`);
  }
  Object.assign(globalThis, mod.globals);
  const flags = options.dawnFlags ?? ['backend=vulkan'];
  const gpu = mod.create(dawnFlagsFor(flags, options));
  keepAlive.push(gpu);
  return { gpu, softwareFallback };
}

export async function acquireDevice(options: AcquireOptions = {}): Promise<AcquiredDevice> {
  const { gpu, softwareFallback } = await getGpu(options);
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    const hint = isNode()
      ? ' (Linux without a GPU: install Debian\'s chromium package for SwiftShader, or set VK_ICD_FILENAMES)'
      : '';
    throw new UnsupportedError(`no WebGPU adapter${hint}${softwareFallback ? `; ${softwareFallback}` : ''}`);
  }
  keepAlive.push(adapter);
  const requiredLimits: Record<string, number> = {};
  const limits = adapter.limits as unknown as Record<string, number>;
  for (const name of LIMIT_NAMES) if (typeof limits[name] === 'number') requiredLimits[name] = limits[name];
  const wanted: string[] = [...OPTIONAL_FEATURES, ...(options.subgroupMatrix ? [SUBGROUP_MATRIX_FEATURE, 'shader-f16'] : [])];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  keepAlive.push(device);
  return { gpu, adapter, device, softwareFallback };
}

/** Limits worth reporting, read from a device or adapter. */
export function readLimits(limits: GPUSupportedLimits): Record<string, number> {
  const all = limits as unknown as Record<string, number>;
  const out: Record<string, number> = {};
  for (const name of LIMIT_NAMES) if (typeof all[name] === 'number') out[name] = all[name];
  return out;
}
