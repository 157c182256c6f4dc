/**
 * One transformer block, forward and forward + backward: the compute core of a training
 * step. A one-layer {@link Transformer} (Llama-style: hidden 256, 4 query heads of 64 over 2
 * key/value heads, SwiGLU intermediate 1024) runs its block on a residual stream
 * h [4, 256, 256] (B·T = 1024 tokens):
 *
 *   x = rmsNorm(h); h' = h + attention(x); y = h' + mlp(rmsNorm(h'))
 *
 * through the model's own `attentionBlock` and `mlp` (the residual add and the second norm
 * fused, as `hidden()` does), then back-propagates a random gradient of y into h and every
 * weight of the layer. The PyTorch peer (`bench/torch_model_peer.py block`) loads the same
 * weights from a safetensors checkpoint written here and does the same in eager fp32.
 *
 * Figures: `block_fwd_ms`, `block_fwd_bwd_ms`, `block_fwd_bwd_gflops` and
 * `block_fwd_bwd_cpu_gflops` (FLOPs per CPU-second of the process × cores, steadier on
 * shared cores), and `torch_` twins. FLOPs: the seven projections 2·N·H·(2·Hq·D + 2·Hkv·D +
 * 3·I) and causal attention 4·B·Hq·T²·D / 2 forward; backward twice the projections and
 * 2.5× attention (the flash-attention convention, as bench/attention_bench.ts counts).
 *
 * Run alone: `deno run -A --unstable-webgpu bench/block_bench.ts [--quick]`.
 *
 * @module
 */
import { backward, zeroGrad } from "../kernels/core/autograd.ts";
import { initGpu } from "../kernels/core/device.ts";
import { add } from "../kernels/elementwise/elementwise.ts";
import { addRmsNorm, rmsNorm } from "../kernels/layers/rmsnorm.ts";
import { scope, type Tensor, tensor } from "../kernels/core/tensor.ts";
import { saveModel } from "../models/checkpoint.ts";
import { parseHfConfig } from "../models/hf_config.ts";
import { Transformer } from "../models/transformer.ts";
import { type NoteContext, peerFigures, runModelPeer } from "./model_bench.ts";
import { type BenchSection, CORES, gflops, round, timeGpu } from "./util.ts";

/** The block's shape; vocabulary 16 keeps the unused embedding and LM head tiny. */
export const BLOCK_CONFIG = {
  model_type: "llama",
  vocab_size: 16,
  hidden_size: 256,
  intermediate_size: 1024,
  num_hidden_layers: 1,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
};
const [B, T] = [4, 256];

function random(shape: number[], seed: number): Tensor {
  let s = seed >>> 0;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return tensor(data, shape);
}

/** Forward FLOPs: [projections, causal attention]. */
function blockFlops(): [number, number] {
  const H = BLOCK_CONFIG.hidden_size;
  const Hq = BLOCK_CONFIG.num_attention_heads;
  const Hkv = BLOCK_CONFIG.num_key_value_heads;
  const D = H / Hq;
  const I = BLOCK_CONFIG.intermediate_size;
  return [2 * B * T * H * (2 * Hq * D + 2 * Hkv * D + 3 * I), (4 * B * Hq * T * T * D) / 2];
}

/** zerokit's and the peer's block figures (see the module doc). */
export async function benchBlock(ctx: NoteContext): Promise<Record<string, number>> {
  await initGpu();
  const cfg = parseHfConfig(BLOCK_CONFIG);
  const model = Transformer.random(cfg, { seed: 5 });
  const dir = await Deno.makeTempDir({ prefix: "zerokit-block-bench-" });
  const out: Record<string, number> = {};
  const h = random([B, T, cfg.hiddenSize], 1);
  const dy = random([B, T, cfg.hiddenSize], 2);
  const positions = tensor(Int32Array.from({ length: B * T }, (_, i) => i % T), [B, T]);
  const batch = { ids: positions, positions }; // ids are unused by the block
  const p = (n: string) => model.params.get(`model.layers.0.${n}.weight`)!;
  const block = () => {
    const x = rmsNorm(h, p("input_layernorm"), cfg.rmsNormEps);
    const a = model.attentionBlock(0, x, batch);
    const [h1, x1] = addRmsNorm(h, a, p("post_attention_layernorm"), cfg.rmsNormEps);
    return add(h1, model.mlp(0, x1));
  };
  const layer = [...model.params].filter(([n]) => n.startsWith("model.layers.0.")).map((e) => e[1]);
  try {
    await saveModel(model, dir);
    const samples = ctx.quick ? 3 : 5;
    const fwd = await timeGpu(() => scope(() => void block()), { samples });
    model.setTrainable(true);
    h.requiresGrad = true;
    const both = await timeGpu(() => {
      scope(() => backward(block(), dy));
      zeroGrad([...layer, h]);
    }, { samples });
    const [proj, att] = blockFlops();
    const flops = 3 * proj + 3.5 * att;
    out.block_fwd_ms = round(fwd.ms);
    out.block_fwd_bwd_ms = round(both.ms);
    out.block_fwd_bwd_gflops = round(gflops(flops, both.ms));
    if (Number.isFinite(both.cpuMs)) {
      out.block_fwd_bwd_cpu_gflops = round(gflops(flops, both.cpuMs / CORES));
    }
    ctx.log(
      `block B${B} T${T}: forward ${fwd.ms.toFixed(1)} ms, forward+backward ${
        both.ms.toFixed(1)
      } ms (best ${both.bestMs.toFixed(1)}), ${out.block_fwd_bwd_gflops} GFLOP/s`,
    );
    const peer = await runModelPeer(
      ["block", "--dir", dir, "--batch", String(B), "--seq", String(T)],
      ctx.quick,
    );
    if (typeof peer === "string") (ctx.note ?? ctx.log)(`block: no PyTorch peer (${peer})`);
    else Object.assign(out, peerFigures(peer));
  } finally {
    for (const t of [h, dy, positions]) t.dispose();
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
  return out;
}

/** The section for bench/main.ts's registry. */
export const blockSection: BenchSection = {
  description: "one transformer block forward + backward (B·T = 4×256, hidden 256), PyTorch peer",
  run: benchBlock,
};

if (import.meta.main) {
  const figures = await benchBlock({
    quick: Deno.args.includes("--quick"),
    log: (m) => console.error(m),
  });
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(32)} ${v}`);
}
