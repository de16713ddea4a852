/** Dawn flags for the subgroup-matrix opt-in: toggles merged into one enable-dawn-features entry. */
import { describe, expect, it } from 'vitest';
import { dawnFlagsFor, withDawnToggles } from './device.js';

describe('withDawnToggles', () => {
  it('adds an enable-dawn-features entry when there is none', () => {
    expect(withDawnToggles(['backend=vulkan'], ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'])).toEqual([
      'backend=vulkan',
      'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia',
    ]);
  });
  it('merges into an existing entry without duplicates, keeping the other flags in place', () => {
    expect(withDawnToggles(['enable-dawn-features=dump_shaders,allow_unsafe_apis', 'backend=vulkan'], ['allow_unsafe_apis', 'x'])).toEqual([
      'enable-dawn-features=dump_shaders,allow_unsafe_apis,x',
      'backend=vulkan',
    ]);
  });
  it('robustness: false adds allow_unsafe_apis and disable_robustness, merged with the subgroup-matrix toggles', () => {
    expect(dawnFlagsFor(['backend=vulkan'], {})).toEqual(['backend=vulkan']);
    expect(dawnFlagsFor(['backend=vulkan'], { robustness: true })).toEqual(['backend=vulkan']);
    expect(dawnFlagsFor(['backend=vulkan'], { robustness: false })).toEqual(['backend=vulkan', 'enable-dawn-features=allow_unsafe_apis,disable_robustness']);
    expect(dawnFlagsFor(['backend=vulkan'], { robustness: false, subgroupMatrix: true })).toEqual([
      'backend=vulkan',
      'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia,disable_robustness',
    ]);
  });
});
