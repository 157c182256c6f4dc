/**
 * The compute core: WebGPU device, tensors, autograd and the transformer kernel set.
 *
 * @example
 * ```ts
 * import { backward, initGpu, matmul, mean, tensor } from "./mod.ts";
 * await initGpu();
 * const w = tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * w.requiresGrad = true;
 * const loss = mean(matmul(tensor(new Float32Array([1, 1]), [1, 2]), w));
 * backward(loss);
 * console.log(await w.grad!.read()); // Float32Array [0.5, 0.5, 0.5, 0.5]
 * ```
 *
 * @module
 */
export { describeGpu, type Gpu, gpu, initGpu } from "./device.ts";
export { flush, launchStats, sync } from "./runtime.ts";
export {
  copyInto,
  type DType,
  empty,
  keep,
  pool,
  readAll,
  scope,
  scopeAsync,
  Tensor,
  tensor,
  write,
} from "./tensor.ts";
export { backward, clearTape, clone, noGrad, noGradAsync, record, zeroGrad } from "./autograd.ts";
export {
  add,
  addScalar,
  broadcastTo,
  clamp,
  div,
  exp,
  fill,
  maximum,
  minimum,
  mul,
  ones,
  scale,
  square,
  sub,
  sumTo,
  zeros,
} from "./elementwise.ts";
export { matmul, type MatmulOptions } from "./matmul.ts";
export { addRmsNorm, rmsNorm } from "./rmsnorm.ts";
export { rope, ropeInvFreq, type RopeOptions, ropeQK } from "./rope.ts";
export { silu, swiglu, swigluPacked } from "./activations.ts";
export { embedding } from "./embedding.ts";
export {
  attention,
  attentionDecode,
  type AttentionOptions,
  type DecodeOptions,
} from "./attention.ts";
export {
  createKVCache as createLayerKVCache,
  type KVCache as LayerKVCache,
  writeKV,
} from "./kv_cache.ts";
export { maskedMean, maskedSum, mean, type ReduceOptions, sum } from "./reduce.ts";
export { softmax } from "./softmax.ts";
export { crossEntropy, logprobsAndEntropy, tokenEntropy, tokenLogprobs } from "./logprobs.ts";
export { AdamW, type AdamWOptions, type AdamWState } from "./adamw.ts";
export { clipGradNorm } from "./grad_norm.ts";
export { sample, type SampleOptions, type SampleResult } from "./sampler.ts";
