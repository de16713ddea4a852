/**
 * @hsa/model: the SWA + HSA + MoE model (config, safetensors weights, prefill, decode, generation,
 * training). A skeleton for now: see README.md for what it will hold.
 */
export {};
