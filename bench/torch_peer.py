"""PyTorch CPU peer for bench/main.ts: the same ops and shapes, printed as one JSON object.

Keys mirror zerokit's with a `torch_` prefix (torch_matmul_1024_gflops, ...). Timing is the
median of several batches after warm-up, like bench/util.ts. Run alone with
`python3 bench/torch_peer.py [--quick]`. When torch is missing it prints
{"torch_skipped": "<reason>"} and exits 0, so the bench never fails because of the peer.

To add a figure: append to PEERS a function returning {key: value}.
"""

import json
import os
import statistics
import sys
import time

# [name, M, K, N, transB] — keep in step with MATMUL_SHAPES in bench/matmul_bench.ts.
MATMUL_SHAPES = [
    ("matmul_256", 256, 256, 256, False),
    ("matmul_512", 512, 512, 512, False),
    ("matmul_1024", 1024, 1024, 1024, False),
    ("matmul_2048", 2048, 2048, 2048, False),
    ("matmul_4096x256x1024", 4096, 256, 1024, False),
    ("matmul_4096x256x1024_transB", 4096, 256, 1024, True),
]


def time_call(fn, samples=5, min_s=0.25):
    """Median wall and CPU seconds per call (all threads), batches of about min_s each."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    n = max(1, min(1000, int(min_s / max(once, 1e-5)) + 1))
    per, cpu = [], []
    for _ in range(samples):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        per.append((time.perf_counter() - t0) / n)
        cpu.append((time.process_time() - c0) / n)
    return statistics.median(per), statistics.median(cpu)


def bench_matmul(torch, quick):
    import torch.nn.functional as F

    out = {}
    g = torch.Generator().manual_seed(0)
    for name, m, k, n, trans_b in MATMUL_SHAPES:
        if quick and m * k * n > 1024**3:
            continue
        a = torch.rand(m, k, generator=g) - 0.5
        if trans_b:
            w = torch.rand(n, k, generator=g) - 0.5  # nn.Linear layout
            fn = lambda a=a, w=w: F.linear(a, w)
        else:
            b = torch.rand(k, n, generator=g) - 0.5
            fn = lambda a=a, b=b: torch.matmul(a, b)
        wall, cpu = time_call(fn, samples=3 if quick else 5)
        flops = 2 * m * n * k
        out[f"torch_{name}_gflops"] = round(flops / wall / 1e9, 2)
        # Work per CPU-second × cores, as bench/util.ts reports it for zerokit.
        out[f"torch_{name}_cpu_gflops"] = round(flops / (cpu / os.cpu_count()) / 1e9, 2)
    return out


PEERS = [bench_matmul]


def main():
    quick = "--quick" in sys.argv
    try:
        import torch
    except Exception as e:  # not installed, or a broken install
        print(json.dumps({"torch_skipped": f"torch not importable: {e}"}))
        return
    torch.set_grad_enabled(False)
    figures = {"torch_version": torch.__version__, "torch_threads": torch.get_num_threads()}
    for peer in PEERS:
        figures.update(peer(torch, quick))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
