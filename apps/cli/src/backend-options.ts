/**
 * `--matrix-units`, shared by the commands that run a model: ask the WebGPU backend for Dawn's
 * experimental f16 subgroup matrices (the tensor cores of an NVIDIA GPU). Where the adapter offers
 * them, HSA's chunk attention over many tokens (prefill, and its backward in training) runs on them:
 * products of f16-rounded operands, f32 sums; elsewhere nothing changes.
 */
import type { CreateBackendOptions } from '@hsa/tensor';

export const MATRIX_UNITS_FLAG = '--matrix-units';
export const MATRIX_UNITS_HELP = 'WebGPU: use f16 subgroup matrices (tensor cores) where the adapter offers them, for the chunk attention (f16 products, f32 sums)';

/** The backend options a command's parsed `matrixUnits` flag asks for. */
export const matrixUnitsOptions = (o: { matrixUnits?: boolean }): CreateBackendOptions => (o.matrixUnits === true ? { subgroupMatrix: true } : {});
