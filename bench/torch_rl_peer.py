"""PyTorch CPU peer for bench/rl_bench.ts: one PPO step on the same model and shapes, in eager
fp32 PyTorch (no `transformers`). Prints one JSON object.

    python3 bench/torch_rl_peer.py --dir D --prompts D/prompts.json --samples 8 --new 40 \
        --critic-steps 2 --steps 3

`--dir` is the policy checkpoint zerokit's saveModel() wrote (config.json + model.safetensors),
loaded with bench/torch_model_peer.py's reader into its `Llama` class; the critic is a second
copy of that trunk plus a bias-free scalar head N(0, (1/(H+1))²), as zerokit's (and ORZ's) is.
`--prompts` holds the prompt ids (equal lengths, so no padding). One step:

(a) KV-cached sampling of samples × prompts sequences, exactly `new` tokens each, temperature 1
    with torch.multinomial (the behaviour log-prob of each token kept, as zerokit's sampler does);
(b) old log-probs (and entropies) of the response tokens: a policy forward over the packed
    sequences prompt ++ response[:-1], no grad;
(c) values: the critic's forward, no grad;
(d) GAE (γ = λ = 1, score on the last token) and whitening over every response token (population
    variance, floored at 1e-8), on the CPU;
(e) `--critic-steps` shuffled mini-batches of ORZ's clipped value loss
    ½·max((clip(V, V_old ± 0.2) − R)², (V − R)²), token mean, each forward + backward + global
    grad-norm clip 1.0 + AdamW (lr 5e-6, betas 0.9/0.95, eps 1e-8, no decay);
(f) one policy step of the clipped surrogate (clip 0.2) over the whole buffer, token mean,
    grad clip 1.0, AdamW (lr 1e-6).
The reward is the parity of the sequence's index, as in rl_bench.ts. Losses and grad norms are
read (`.item()`) where zerokit reads them.

Figures (seconds; the fastest of `--steps` steps after one warm-up step, with its own breakdown):
torch_rl_step_s, torch_rl_generate_s (a), torch_rl_forward_s (b + c), torch_rl_update_s (e + f),
torch_rl_other_s (the rest: d, packing); the passes torch_rl_logprobs_s (b), torch_rl_values_s (c),
torch_rl_critic_s (e), torch_rl_policy_s (f); CPU-second twins
torch_rl_{step,generate,forward,update}_cpu_s (process CPU time ÷ cores, steadier while other work
shares the cores); torch_threads. Without torch it prints {"torch_skipped": "<reason>"} and exits 0.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def hidden(m, ids):
    """Final-norm hidden states [B, T, H] of whole sequences ids [B, T] (causal, no cache)."""
    torch = m.torch
    cos, sin = m.rope_tables(torch.arange(ids.shape[1]))
    h = m.F.embedding(ids, m.w["model.embed_tokens.weight"])
    for l in range(m.L):
        h = m.block(l, h, cos, sin)
    return m.rms(h, m.w["model.norm.weight"])


def sample(torch, logits, gen):
    """Temperature-1 draw from logits [B, V]: tokens [B] and their log-probs [B]."""
    logp = torch.log_softmax(logits, dim=-1)
    tok = torch.multinomial(logp.exp(), 1, generator=gen)
    return tok[:, 0], logp.gather(1, tok)[:, 0]


def generate(m, prompts, new_tokens, gen):
    """prompts [B, P] → tokens [B, new] and behaviour log-probs [B, new] (KV cache)."""
    torch = m.torch
    B, P = prompts.shape
    cache = m.new_cache(B, P + new_tokens)
    tok, lp = sample(torch, m.step(prompts, cache, 0), gen)
    toks, lps = [tok], [lp]
    for s in range(1, new_tokens):
        tok, lp = sample(torch, m.step(tok[:, None], cache, P + s - 1), gen)
        toks.append(tok)
        lps.append(lp)
    return torch.stack(toks, 1), torch.stack(lps, 1)


def response_logprobs(m, ids, targets, P):
    """Log-probs and entropies [B, N] of the response tokens under the policy."""
    torch = m.torch
    logits = m.F.linear(hidden(m, ids), m.lm_head)  # [B, T, V]
    logp = torch.log_softmax(logits, dim=-1)
    resp = logp[:, P - 1 :]  # position P − 1 + j predicts response token j
    lp = resp.gather(2, targets[:, :, None])[:, :, 0]
    entropy = -(resp.exp() * resp).sum(-1)
    return lp, entropy


def values(critic, head, ids, P):
    """V(s_j) before each response token j, [B, N]."""
    return (hidden(critic, ids) @ head.t())[:, P - 1 :, 0]


def gae(rewards, vals, gamma=1.0, lam=1.0):
    """GAE over [B, N] with next value 0 after the last token; (advantages, returns)."""
    adv = rewards.new_zeros(rewards.shape)
    nxt = rewards.new_zeros(rewards.shape[0])
    for t in range(rewards.shape[1] - 1, -1, -1):
        next_v = vals[:, t + 1] if t + 1 < rewards.shape[1] else 0.0
        delta = rewards[:, t] + gamma * next_v - vals[:, t]
        nxt = delta + gamma * lam * nxt
        adv[:, t] = nxt
    return adv, adv + vals


def ppo_step(torch, pol, critic, head, popt, copt, prompts, args, gen, step):
    """One step; its phase times in seconds."""
    F = torch.nn.functional
    B = prompts.shape[0]
    P = prompts.shape[1]
    clock = lambda: (time.perf_counter(), time.process_time())
    t0 = clock()
    # (a) Sampling.
    with torch.no_grad():
        resp, _behaviour = generate(pol, prompts, args.new, gen)
    t_gen = clock()
    # Pack: the forward reads prompt ++ response[:-1] (T = P + N − 1).
    ids = torch.cat([prompts, resp[:, :-1]], dim=1)
    score = (torch.arange(B) % 2).float()
    # (b, c) Old log-probs and values.
    t_f0 = clock()
    with torch.no_grad():
        old_lp, _entropy = response_logprobs(pol, ids, resp, P)
        t_lp = clock()
        old_v = values(critic, head, ids, P)
    t_f1 = clock()
    # (d) Token rewards, GAE, whitening (CPU float64, as zerokit's advantages.ts).
    rewards = torch.zeros(B, args.new, dtype=torch.float64)
    rewards[:, -1] = score.double()
    adv, ret = gae(rewards, old_v.double())
    mean, var = adv.mean(), adv.var(unbiased=False)
    adv = ((adv - mean) / var.clamp_min(1e-8).sqrt()).float()
    ret = ret.float()
    # (e) Critic: shuffled mini-batches of the clipped value loss.
    t_u0 = clock()
    cparams = [critic.w[n] for n in critic.trainable] + [head]
    perm = torch.randperm(B, generator=gen)
    for mini in perm.chunk(args.critic_steps):
        v = values(critic, head, ids[mini], P)
        vc = old_v[mini] + (v - old_v[mini]).clamp(-0.2, 0.2)
        err = torch.maximum((vc - ret[mini]) ** 2, (v - ret[mini]) ** 2)
        loss = 0.5 * err.mean()  # token mean: every sequence has N tokens
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(cparams, 1.0)
        loss.item(), norm.item()
        copt.step()
        copt.zero_grad(set_to_none=True)
    t_c = clock()
    # (f) Policy: one step of the clipped surrogate over the whole buffer.
    pparams = list(pol.w.values())
    lp, _ = response_logprobs(pol, ids, resp, P)
    ratio = torch.exp(lp - old_lp)
    surr = torch.minimum(ratio * adv, ratio.clamp(0.8, 1.2) * adv)
    loss = -surr.mean()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(pparams, 1.0)
    loss.item(), norm.item(), ratio.detach().max().item()
    popt.step()
    popt.zero_grad(set_to_none=True)
    t1 = clock()
    out = {}
    for i, suffix in ((0, ""), (1, "_cpu")):
        # CPU seconds (all threads) ÷ cores, as rl_bench.ts reports zerokit's.
        per = 1 if i == 0 else os.cpu_count()
        d = lambda a, b: (b[i] - a[i]) / per
        out["step" + suffix] = d(t0, t1)
        out["generate" + suffix] = d(t0, t_gen)
        out["forward" + suffix] = d(t_f0, t_f1)
        out["update" + suffix] = d(t_u0, t1)
    out["logprobs"] = t_lp[0] - t_f0[0]
    out["values"] = t_f1[0] - t_lp[0]
    out["critic"] = t_c[0] - t_u0[0]
    out["policy"] = t1[0] - t_c[0]
    out["other"] = out["step"] - out["generate"] - out["forward"] - out["update"]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--new", type=int, default=40)
    ap.add_argument("--critic-steps", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    try:
        import torch
        from torch_model_peer import Llama, load
    except Exception as e:  # not installed, or a broken install
        print(json.dumps({"torch_skipped": f"torch not importable: {e}"}))
        return
    torch.set_num_threads(os.cpu_count())
    cfg, w = load(torch, args.dir)
    H = cfg["hidden_size"]
    pol = Llama(torch, cfg, {n: t.clone().requires_grad_(True) for n, t in w.items()})
    critic = Llama(torch, cfg, {n: t.clone().requires_grad_(True) for n, t in w.items()})
    critic.trainable = sorted(n for n in critic.w if n != "lm_head.weight")
    g = torch.Generator().manual_seed(0)
    head = (torch.randn(1, H, generator=g) / (H + 1)).requires_grad_(True)
    adam = dict(betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    popt = torch.optim.AdamW(list(pol.w.values()), lr=1e-6, **adam)
    copt = torch.optim.AdamW([critic.w[n] for n in critic.trainable] + [head], lr=5e-6, **adam)
    with open(args.prompts) as f:
        prompts = torch.tensor(json.load(f)).repeat_interleave(args.samples, dim=0)
    gen = torch.Generator().manual_seed(1)
    run = lambda k: ppo_step(torch, pol, critic, head, popt, copt, prompts, args, gen, k)
    run(0)  # warm-up
    steps = [run(k + 1) for k in range(args.steps)]
    best = min(steps, key=lambda s: s["step"])  # the fastest step, with its own breakdown
    out = {f"torch_rl_{k}_s": round(v, 4) for k, v in best.items()}
    out["torch_threads"] = torch.get_num_threads()
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
