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
export { describeGpu, type Gpu, gpu, initGpu } from "./core/device.ts";
export { flush, launchStats, sync } from "./core/runtime.ts";
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
} from "./core/tensor.ts";
export {
  backward,
  clearTape,
  clone,
  noGrad,
  noGradAsync,
  record,
  zeroGrad,
} from "./core/autograd.ts";
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
} from "./elementwise/elementwise.ts";
export { matmul, type MatmulOptions } from "./matmul/matmul.ts";
export { addRmsNorm, rmsNorm } from "./layers/rmsnorm.ts";
export { rope, ropeInvFreq, type RopeOptions, ropeQK } from "./layers/rope.ts";
export { silu, swiglu, swigluPacked } from "./layers/activations.ts";
export { embedding } from "./layers/embedding.ts";
export {
  attention,
  attentionDecode,
  type AttentionOptions,
  type DecodeOptions,
} from "./attention/attention.ts";
export { createLayerKVCache, type LayerKVCache, writeKV } from "./attention/kv_cache.ts";
export { maskedMean, maskedSum, mean, type ReduceOptions, sum } from "./reduce/reduce.ts";
export { softmax } from "./reduce/softmax.ts";
export {
  crossEntropy,
  logprobsAndEntropy,
  tokenEntropy,
  tokenLogprobs,
} from "./reduce/logprobs.ts";
export { AdamW, type AdamWOptions, type AdamWState } from "./optim/adamw.ts";
export { clipGradNorm } from "./optim/grad_norm.ts";
export { sample, type SampleOptions, type SampleResult } from "./sampling/sampler.ts";
