/**
 * Differentiable ops (`ag.*`): the same signatures as the plain ops, recording onto the tape when an
 * input requires a gradient. Plain ops stay untracked.
 */
export { checkpoint } from './checkpoint.js';
export { chunkEncoderAttention, hsaChunkAttention, hsaRetrieval, swaAttention } from './ops-attention.js';
export { matmul } from './ops-linalg.js';
export { add, addScalar, broadcastTo, mul, reduceToShape, scale, sub } from './ops-elementwise.js';
export { crossEntropy, embedding, rmsNorm, rope, softmax, swiglu } from './ops-nn.js';
export { contiguous, mean, permute, reshape, sum, transpose } from './ops-shape.js';
