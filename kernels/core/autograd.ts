/**
 * Reverse-mode autograd over a global tape.
 *
 * An op that has inputs requiring grad calls {@link record} with its output and a backward
 * closure. The tape retains the buffers of every recorded input and output, so scopes may
 * dispose forward handles freely: the activations stay alive until `backward()` (or
 * {@link clearTape}) releases them. Backward closures run in no-grad mode and may use any op.
 *
 * Gradients of leaves (parameters) accumulate into `param.grad` across `backward()` calls,
 * which is how micro-batch gradient accumulation works; zero them with `zeroGrad`.
 *
 * @module
 */
import src from "./accumulate.wgsl" with { type: "text" };
import vec4Src from "./accumulate_vec4.wgsl" with { type: "text" };
import copySrc from "./accumulate_copy.wgsl" with { type: "text" };
import { gpu } from "./device.ts";
import { grid, kernel, u32 } from "./runtime.ts";
import { launchReads, textureBindings, textureReadsOn } from "./texture_reads.ts";
import { copyInto, empty, keep, setReshapeHook, type Tensor, tensor } from "./tensor.ts";

const accumulateKernel = kernel("accumulate", src);
const accumulateVec4Kernel = kernel("accumulate_vec4", vec4Src);
// Same name as the kernel it stands in for, so profiles read the same.
const accumulateCopyKernel = kernel("accumulate_vec4", copySrc);

let enabled = true;
const tape: Tensor[] = [];

/** Whether ops currently record onto the tape. */
export function gradEnabled(): boolean {
  return enabled;
}

/** Run `fn` without recording (rollouts, reference/critic inference, optimizer steps). */
export function noGrad<T>(fn: () => T): T {
  const was = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = was;
  }
}

/** Async variant of {@link noGrad}; don't interleave with recording work. */
export async function noGradAsync<T>(fn: () => Promise<T>): Promise<T> {
  const was = enabled;
  enabled = false;
  try {
    return await fn();
  } finally {
    enabled = was;
  }
}

/** True when an op with these inputs should record (grad on, some input needs grad). */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  return enabled && inputs.some((t) => t?.requiresGrad);
}

/**
 * Record `output = op(inputs)`. `backward(gradOutput)` returns one gradient per input (or
 * null where an input needs none), each with that input's shape. Returns `output`.
 */
export function record(
  output: Tensor,
  inputs: Tensor[],
  backward: (grad: Tensor) => (Tensor | null)[],
): Tensor {
  if (!needsGrad(...inputs)) return output;
  output.requiresGrad = true;
  output.node = { inputs, backward };
  for (const t of inputs) t.storage.retain();
  output.storage.retain();
  tape.push(output);
  return output;
}

setReshapeHook((src, view) => {
  record(view, [src], (g) => [g.reshape([...src.shape])]);
});

/**
 * `acc += x` elementwise (same element count), in stream order. Tensors beyond one storage
 * binding (a 545 MB embedding gradient) are processed in 256-byte-aligned windows.
 */
export function accumulateInto(acc: Tensor, x: Tensor): void {
  if (acc.size !== x.size) throw new Error(`accumulate: ${acc.shape} vs ${x.shape}`);
  const window = Math.floor(gpu().maxBindingBytes / 4 / 256) * 256;
  const vec4 = x.size % 4 === 0;
  for (let start = 0; start < x.size; start += window) {
    const n = Math.min(window, x.size - start);
    const units = vec4 ? n / 4 : n;
    // CPU adapters: acc's prior values from a texture copy, acc only written.
    const prior = vec4 && textureReadsOn()
      ? textureBindings("accumulate.prior", [{ binding: acc.binding(start, n), elem: "vec4f" }])
      : null;
    if (prior) {
      launchReads(accumulateCopyKernel, {
        params: [u32(units)],
        bindings: [x.binding(start, n), acc.binding(start, n), acc.binding(start, n)],
        workgroups: grid(Math.ceil(units / 256)),
      }, { 1: prior[0] });
      continue;
    }
    launchReads(vec4 ? accumulateVec4Kernel : accumulateKernel, {
      params: [u32(units)],
      bindings: [x.binding(start, n), acc.binding(start, n)],
      workgroups: grid(Math.ceil(units / 256)),
    });
  }
}

/**
 * Back-propagate from `loss` (a scalar unless `grad` is given). Leaf gradients accumulate
 * into `.grad`; the tape is cleared afterwards.
 */
export function backward(loss: Tensor, grad?: Tensor): void {
  if (!loss.requiresGrad) throw new Error("backward(): loss does not require grad");
  if (!grad && loss.size !== 1) {
    throw new Error(`backward(): loss has shape [${loss.shape}], not a scalar`);
  }
  const grads = new Map<Tensor, Tensor>();
  grads.set(loss, grad ?? tensor([1], [...loss.shape]));
  const leafGrads = new Map<Tensor, Tensor>();
  const was = enabled;
  enabled = false;
  try {
    for (let i = tape.length - 1; i >= 0; i--) {
      const out = tape[i];
      const g = grads.get(out);
      if (!g || !out.node) continue;
      grads.delete(out);
      const inputGrads = out.node.backward(g);
      // A closure may hand back the incoming gradient itself, or one tensor for two inputs
      // (add): store each tensor once, clone on reuse, dispose whatever was not stored.
      const stored = new Set<Tensor>();
      out.node.inputs.forEach((input, k) => {
        const gi = inputGrads[k];
        if (!gi || !input.requiresGrad) return;
        if (gi.size !== input.size) {
          throw new Error(`backward of ${out}: gradient [${gi.shape}] for input [${input.shape}]`);
        }
        const target = input.node ? grads : leafGrads;
        const prev = target.get(input);
        if (prev) accumulateInto(prev, gi);
        else {
          const own = stored.has(gi) ? clone(gi) : gi;
          target.set(input, own);
          stored.add(own);
        }
      });
      for (const t of new Set([g, ...inputGrads])) {
        if (t && !stored.has(t) && t !== grad) t.dispose();
      }
    }
    for (const [leaf, g] of leafGrads) {
      if (leaf.grad) {
        accumulateInto(leaf.grad, g);
        g.dispose();
      } else {
        leaf.grad = keep(g.shape.length === leaf.shape.length ? g : reshaped(g, leaf));
      }
    }
    for (const g of grads.values()) if (g !== grad) g.dispose();
  } finally {
    enabled = was;
    clearTape();
  }
}

function reshaped(g: Tensor, like: Tensor): Tensor {
  const v = g.reshape([...like.shape]);
  g.dispose();
  return v;
}

/** Drop the tape (releasing saved activations) without back-propagating. */
export function clearTape(): void {
  for (const out of tape) {
    if (!out.node) continue;
    for (const t of out.node.inputs) t.storage.release();
    out.storage.release();
    out.node = null;
  }
  tape.length = 0;
}

/** Number of recorded ops (for tests that check nothing leaks onto the tape). */
export function tapeLength(): number {
  return tape.length;
}

/** Dispose and clear the gradients of `params`. */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}

/** A copy of `t` in a fresh buffer. */
export function clone(t: Tensor): Tensor {
  const out = empty(t.shape, t.dtype);
  copyInto(t, out);
  return out;
}
