import type { DeviceCaps } from '../core/program.js';

/** The H200's capabilities with f16 subgroup matrices enabled (adapter report of bench/probe-subgroup-matrix). */
export const H200_MMA_CAPS: DeviceCaps = {
  maxInvocations: 1024,
  maxWorkgroupStorage: 49152,
  maxWorkgroupsPerDim: 65535,
  subgroups: true,
  subgroupMinSize: 32,
  subgroupMaxSize: 32,
  maxStorageBuffers: 16,
  shaderF16: true,
  subgroupMatrix: [
    { componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 },
    { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 },
  ],
};
