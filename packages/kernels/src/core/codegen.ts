/** Helpers of the WGSL generators (internal: not exported from the package). */

/** 0 … n − 1: the indices a generator unrolls over. */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
