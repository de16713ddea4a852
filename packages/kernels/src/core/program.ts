/**
 * What a kernel is: a plain-TS reference (the meaning, and the CPU backend's implementation) and a
 * builder for a WGSL program (the GPU version). Backends run one or the other; nothing here touches
 * WebGPU objects, so this package stays a leaf.
 */
import type { DType, TypedArray } from './dtype.js';

/** What a program may assume about the device; the portable set is what CI and browsers give. */
export interface DeviceCaps {
  /** maxComputeInvocationsPerWorkgroup */
  readonly maxInvocations: number;
  /** maxComputeWorkgroupStorageSize in bytes */
  readonly maxWorkgroupStorage: number;
  /** maxComputeWorkgroupsPerDimension */
  readonly maxWorkgroupsPerDim: number;
  /** the `subgroups` feature is enabled on the device */
  readonly subgroups: boolean;
  /** smallest subgroup size the adapter may use (only meaningful with subgroups) */
  readonly subgroupMinSize: number;
  /** maxStorageBuffersPerShaderStage (default 8, WebGPU's guaranteed minimum) */
  readonly maxStorageBuffers?: number;
  /** largest subgroup size the adapter may use (only meaningful with subgroups) */
  readonly subgroupMaxSize?: number;
  /** the `shader-f16` feature is enabled on the device */
  readonly shaderF16?: boolean;
  /**
   * matrix-multiply configurations of subgroup matrices (Dawn's experimental
   * `chromium-experimental-subgroup-matrix`; empty or absent when the feature is not enabled)
   */
  readonly subgroupMatrix?: readonly SubgroupMatrixConfig[];
}

/** One configuration of subgroup-matrix multiplies: left M×K and right K×N of componentType, result M×N. */
export interface SubgroupMatrixConfig {
  readonly componentType: string;
  readonly resultComponentType: string;
  readonly M: number;
  readonly N: number;
  readonly K: number;
}

/** Browser-safe limits: 256 invocations, 32 KiB workgroup memory, no subgroups. */
export const PORTABLE_CAPS: DeviceCaps = {
  maxInvocations: 256,
  maxWorkgroupStorage: 32768,
  maxWorkgroupsPerDim: 65535,
  subgroups: false,
  subgroupMinSize: 4,
};

/**
 * WGSL scalar type of a storage binding. Packed f16/bf16 tensors bind as u32; f16 only in shaders
 * that enable it (shader-f16; the mma chunk attention's direct loads).
 */
export type WgslScalar = 'f32' | 'i32' | 'u32' | 'f16';

export function wgslScalar(dtype: DType): WgslScalar {
  return dtype === 'f32' ? 'f32' : dtype === 'i32' ? 'i32' : 'u32';
}

export interface BufferBinding {
  readonly name: string;
  readonly access: 'read' | 'read_write';
  readonly type: WgslScalar;
}

/**
 * One GPU dispatch. Binding 0 of group 0 is the uniform struct `u` (when `uniforms` is set), storage
 * buffers follow at bindings 1.. in the order of `buffers`.
 */
export interface Program {
  /** Pipeline-cache key: kernel name + everything the WGSL text depends on (never a per-call size). */
  readonly key: string;
  /** Builds the WGSL source; called only on a cache miss. */
  readonly code: () => string;
  readonly buffers: readonly BufferBinding[];
  readonly uniforms?: ArrayBuffer;
  readonly workgroups: readonly [number, number, number];
}

/** A kernel: `ref` over typed arrays (inputs then outputs, as the op passes them) and its GPU program. */
export interface Kernel<P> {
  readonly name: string;
  ref(arrays: TypedArray[], params: P): void;
  program(params: P, caps: DeviceCaps): Program;
}

/**
 * Emits the WGSL `@group(0) @binding(i)` declarations for a program's buffers (and uniforms);
 * `element` declares every buffer as an array of that type instead (e.g. vec4<f32> for programs that
 * read and write four f32 at a time).
 */
export function wgslBindings(buffers: readonly BufferBinding[], uniformStruct?: string, element?: string): string {
  const lines: string[] = [];
  if (uniformStruct) lines.push(`@group(0) @binding(0) var<uniform> u: ${uniformStruct};`);
  buffers.forEach((b, i) => {
    const access = b.access === 'read' ? 'read' : 'read_write';
    lines.push(`@group(0) @binding(${i + 1}) var<storage, ${access}> ${b.name}: array<${element ?? b.type}>;`);
  });
  return lines.join('\n');
}

/**
 * Spreads `count` workgroups over x and y so no dimension passes the device limit. Shaders recover
 * the linear index with {@link WGSL_LINEAR_WORKGROUP}.
 */
export function grid(count: number, caps: DeviceCaps): [number, number, number] {
  const max = caps.maxWorkgroupsPerDim;
  if (count <= max) return [Math.max(count, 1), 1, 1];
  const y = Math.ceil(count / max);
  if (y > max) throw new RangeError(`dispatch of ${count} workgroups exceeds ${max}² workgroups`);
  return [Math.ceil(count / y), y, 1];
}

/** WGSL expression: the linear workgroup index of a {@link grid} dispatch (needs `wid` and `nwg`). */
export const WGSL_LINEAR_WORKGROUP = '(wid.x + wid.y * nwg.x)';

/**
 * The directives of a module using subgroup builtins (the `subgroups` feature): subgroup operations in
 * control flow that is uniform within each subgroup but not provably across the workgroup are allowed
 * (the kernels keep them subgroup-uniform).
 */
export const WGSL_SUBGROUPS = 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);';

export const ceilDiv = (a: number, b: number): number => Math.floor((a + b - 1) / b);
