"""PyTorch CPU peer for bench/block_bench.ts and bench/model_bench.ts: the same Llama/Qwen2
block and model, on the same weights, in eager fp32 PyTorch. Prints one JSON object.

    python3 bench/torch_model_peer.py block --dir D --batch 4 --seq 256 [--quick]
    python3 bench/torch_model_peer.py model --dir D --prefix model_small --prompt 128 \
        --new 64 --batches 1,16,64 [--check D/check.json] [--quick]

`--dir` is a Hugging Face checkpoint directory (config.json + model.safetensors) written by
zerokit's saveModel(), or any Llama/Qwen2 checkpoint of that layout (F32, F16 or BF16).
Weights load with the `safetensors` package when importable, else with the small reader
below (the format is an 8-byte header length, a JSON header, then raw little-endian data).

The model is written out in plain PyTorch (no `transformers`): RMSNorm, rotate-half RoPE,
grouped-query attention through F.scaled_dot_product_attention, SwiGLU, optional q/k/v
bias, tied or untied LM head, and a preallocated KV cache for decoding; greedy argmax.

Figures mirror zerokit's keys with a `torch_` prefix:
- block: torch_block_fwd_ms, torch_block_fwd_bwd_ms, torch_block_fwd_bwd_gflops,
  torch_block_fwd_bwd_cpu_gflops (FLOPs per CPU-second × cores, as bench/util.ts does).
- model: torch_<prefix>_prefill_b<B>_tok_s (B·P prompt tokens per second, cache filled,
  last-position logits and argmax included) and torch_<prefix>_decode_b<B>_tok_s (B·new
  tokens per second over `new` greedy steps after the prefill, timed from the first step
  on, Python loop included: the eager engine's number). With --check, "check_tokens"
  lists the greedy tokens of the check prompts (a list, not a figure) for the bench to
  compare with its own.

Without torch it prints {"torch_skipped": "<reason>"} and exits 0.
"""

import argparse
import json
import os
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import time_call as timed  # noqa: E402  (one timing method for both peers)

DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def load_safetensors(torch, path):
    """name → float32 tensor, through the safetensors package if present, else by hand."""
    try:
        from safetensors.torch import load_file

        return {k: v.float() for k, v in load_file(path).items()}
    except ImportError:
        pass
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in DTYPES:
            raise ValueError(f"{path}: {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        dtype = getattr(torch, DTYPES[info["dtype"]])
        buf = bytearray(raw[base + start : base + end])
        t = torch.frombuffer(buf, dtype=dtype) if buf else torch.empty(0, dtype=dtype)
        out[name] = t.float().reshape(info["shape"])
    return out


class Llama:
    """A Llama/Qwen2 decoder over a dict of Hugging Face-named weights (inference + grads)."""

    def __init__(self, torch, cfg, w):
        self.torch, self.F = torch, torch.nn.functional
        self.w = w
        self.H = cfg["hidden_size"]
        self.Hq = cfg["num_attention_heads"]
        self.Hkv = cfg.get("num_key_value_heads") or self.Hq
        self.D = cfg.get("head_dim") or self.H // self.Hq
        self.L = cfg["num_hidden_layers"]
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        theta = cfg.get("rope_theta", 10000.0)
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.D, 2, dtype=torch.float64) / self.D))
        tied = cfg.get("tie_word_embeddings", False)
        self.lm_head = w["model.embed_tokens.weight"] if tied else w["lm_head.weight"]

    def rms(self, x, weight):
        return x * self.torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    def rope_tables(self, positions):
        """cos, sin [T, D] for integer positions (computed in float64, like zerokit's kernel)."""
        ang = positions.double()[:, None] * self.inv_freq[None, :]
        ang = self.torch.cat([ang, ang], dim=-1)
        return ang.cos().float(), ang.sin().float()

    def rope(self, x, cos, sin):  # x [B, heads, T, D]
        half = self.D // 2
        rot = self.torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rot * sin

    def linear(self, x, name):
        b = self.w.get(f"{name}.bias")
        return self.F.linear(x, self.w[f"{name}.weight"], b)

    def block(self, l, h, cos, sin, cache=None, slot=0):
        """One decoder layer over h [B, T, H]; with a cache, k/v go to slots slot…slot+T−1."""
        B, T, _ = h.shape
        p = f"model.layers.{l}."
        x = self.rms(h, self.w[p + "input_layernorm.weight"])
        q = self.linear(x, p + "self_attn.q_proj").view(B, T, self.Hq, self.D).transpose(1, 2)
        k = self.linear(x, p + "self_attn.k_proj").view(B, T, self.Hkv, self.D).transpose(1, 2)
        v = self.linear(x, p + "self_attn.v_proj").view(B, T, self.Hkv, self.D).transpose(1, 2)
        q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
        if cache is not None:
            ck, cv = cache[l]
            ck[:, :, slot : slot + T] = k
            cv[:, :, slot : slot + T] = v
            k, v = ck[:, :, : slot + T], cv[:, :, : slot + T]
        gqa = self.Hq != self.Hkv
        # One query over the cache needs no mask; a whole sequence (slot 0) is causal.
        a = self.F.scaled_dot_product_attention(q, k, v, is_causal=T > 1, enable_gqa=gqa)
        a = a.transpose(1, 2).reshape(B, T, self.Hq * self.D)
        h = h + self.linear(a, p + "self_attn.o_proj")
        x = self.rms(h, self.w[p + "post_attention_layernorm.weight"])
        gate = self.linear(x, p + "mlp.gate_proj")
        up = self.linear(x, p + "mlp.up_proj")
        return h + self.linear(self.F.silu(gate) * up, p + "mlp.down_proj")

    def new_cache(self, B, max_t):
        z = lambda: self.torch.zeros(B, self.Hkv, max_t, self.D)
        return [(z(), z()) for _ in range(self.L)]

    def step(self, ids, cache, slot):
        """ids [B, T] at cache slots slot…slot+T−1 → last-position logits [B, V]."""
        T = ids.shape[1]
        cos, sin = self.rope_tables(self.torch.arange(slot, slot + T))
        h = self.F.embedding(ids, self.w["model.embed_tokens.weight"])
        for l in range(self.L):
            h = self.block(l, h, cos, sin, cache, slot)
        last = self.rms(h[:, -1], self.w["model.norm.weight"])
        return self.F.linear(last, self.lm_head)

    def greedy(self, prompts, new_tokens):
        """prompts [B, P] (equal lengths) → greedy tokens [B, new_tokens]."""
        B, P = prompts.shape
        cache = self.new_cache(B, P + new_tokens)
        tok = self.step(prompts, cache, 0).argmax(-1)
        out = [tok]
        for s in range(1, new_tokens):
            tok = self.step(tok[:, None], cache, P + s - 1).argmax(-1)
            out.append(tok)
        return self.torch.stack(out, dim=1)


def timed_runs(fn, samples):
    """Medians of the (wall, CPU) seconds `fn` returns (it times itself) over `samples`
    runs after a warm-up run."""
    fn()
    runs = [fn() for _ in range(samples)]
    return tuple(statistics.median(r[i] for r in runs) for i in range(2))


def load(torch, d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    return cfg, load_safetensors(torch, os.path.join(d, "model.safetensors"))


def block_flops(m, B, T, I):
    """Forward FLOPs of one layer: the seven projections plus causal attention (half of T²)."""
    proj = 2 * B * T * m.H * (2 * m.Hq * m.D + 2 * m.Hkv * m.D + 3 * I)
    return proj, 4 * B * m.Hq * T * T * m.D / 2


def bench_block(torch, args):
    cfg, w = load(torch, args.dir)
    m = Llama(torch, cfg, w)
    B, T, H = args.batch, args.seq, m.H
    g = torch.Generator().manual_seed(1)
    h = (torch.rand(B, T, H, generator=g) * 2 - 1).requires_grad_(True)
    dy = torch.rand(B, T, H, generator=g) * 2 - 1
    cos, sin = m.rope_tables(torch.arange(T))
    params = [t.requires_grad_(True) for n, t in w.items() if n.startswith("model.layers.0.")]
    samples = 3 if args.quick else 5

    def fwd():
        with torch.no_grad():
            m.block(0, h, cos, sin)

    def fwd_bwd():
        m.block(0, h, cos, sin).backward(dy)
        for p in params + [h]:
            p.grad = None

    fwd_s, _ = timed(fwd, samples)
    both_s, both_cpu = timed(fwd_bwd, samples)
    proj, att = block_flops(m, B, T, cfg["intermediate_size"])
    flops = 3 * proj + 3.5 * att  # backward: 2× the projections, 2.5× attention
    cores = os.cpu_count()
    return {
        "torch_block_fwd_ms": round(fwd_s * 1e3, 3),
        "torch_block_fwd_bwd_ms": round(both_s * 1e3, 3),
        "torch_block_fwd_bwd_gflops": round(flops / both_s / 1e9, 2),
        "torch_block_fwd_bwd_cpu_gflops": round(flops / (both_cpu / cores) / 1e9, 2),
    }


def bench_model(torch, args):
    cfg, w = load(torch, args.dir)
    m = Llama(torch, cfg, w)
    P, new = args.prompt, args.new
    V = cfg["vocab_size"]
    out = {}
    torch.set_grad_enabled(False)
    if args.check:
        with open(args.check) as f:
            check = json.load(f)
        toks = m.greedy(torch.tensor(check["prompts"]), check["new_tokens"])
        out["check_tokens"] = toks.tolist()
    g = torch.Generator().manual_seed(2)
    for B in [int(b) for b in args.batches.split(",")]:
        # As bench/model_bench.ts's runsFor: fewer runs where one takes seconds.
        samples = 1 if args.quick or B * P > 4096 else 2 if B * P > 1024 else 3
        ids = torch.randint(0, V, (B, P), generator=g)
        cache = m.new_cache(B, P + new)

        def prefill():
            m.step(ids, cache, 0).argmax(-1)

        def decode():
            """Wall and CPU seconds of `new` greedy steps after an (untimed) prefill."""
            tok = m.step(ids, cache, 0).argmax(-1)
            t0, c0 = time.perf_counter(), time.process_time()
            for s in range(1, new + 1):
                tok = m.step(tok[:, None], cache, P + s - 1).argmax(-1)
            return time.perf_counter() - t0, time.process_time() - c0

        pre_s, pre_cpu = timed(prefill, samples)
        dec_s, dec_cpu = timed_runs(decode, samples)
        cores = os.cpu_count()
        key = f"torch_{args.prefix}"
        out[f"{key}_prefill_b{B}_tok_s"] = round(B * P / pre_s, 1)
        out[f"{key}_decode_b{B}_tok_s"] = round(B * new / dec_s, 1)
        # Tokens per CPU-second × cores, as bench/util.ts reports zerokit's.
        out[f"{key}_prefill_b{B}_cpu_tok_s"] = round(B * P / (pre_cpu / cores), 1)
        out[f"{key}_decode_b{B}_cpu_tok_s"] = round(B * new / (dec_cpu / cores), 1)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["block", "model"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--prefix", default="model")
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--batches", default="1,16,64")
    ap.add_argument("--check")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    try:
        import torch
    except Exception as e:  # not installed, or a broken install
        print(json.dumps({"torch_skipped": f"torch not importable: {e}"}))
        return
    figures = bench_block(torch, args) if args.what == "block" else bench_model(torch, args)
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.exit(main())
