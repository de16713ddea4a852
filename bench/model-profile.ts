/** Where a decode step's time goes (bench/profile.ts). */
import { type DecodeState, decodeStep } from '@hsa/model';
import type { WebGpuBackend } from '@hsa/tensor';
import { profileRun, type StepProfile } from './profile.js';

export const profileStep = (be: WebGpuBackend, state: DecodeState): Promise<StepProfile | null> =>
  profileRun(be, async () => (await decodeStep(7, state)).dispose());
