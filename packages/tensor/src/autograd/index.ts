/**
 * Differentiable ops (`ag.*`): the same signatures as the plain ops, recording onto the tape when an
 * input requires a gradient. Plain ops stay untracked.
 */
export { checkpoint } from './checkpoint.js';
export { chunkEncoderAttention, hsaChunkAttention, hsaRetrieval, swaAttention } from './ops-attention.js';
export { matmul } from './ops-linalg.js';
export { add, addScalar, broadcastTo, mul, reduceToShape, scale, sub } from './ops-elementwise.js';
export { crossEntropy, embedding, rmsNorm, rope, softmax, swiglu } from './ops-nn.js';
export { div, exp, maximum, minimum, pow, sigmoid, silu } from './ops-math.js';
export { concat, contiguous, mean, permute, reshape, slice, sum, transpose, unbind } from './ops-shape.js';
