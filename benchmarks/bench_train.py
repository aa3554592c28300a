"""Training speed of the Mao et al. models, side by side in one run.

1. Softmax layer at V words (default 50,000): one training step (loss, backward, SGD update of the output
   table) with the sampled softmax (1024 candidates, sparse row updates) vs the full softmax (dense update).
   The same two variants for a whole Model A step. Target: sampled >= 10x faster for the layer.
2. Model A throughput as model FLOPs/s over the rate of a torch.mm of the GRU's own size (batch x H by H x 3H)
   measured now on this machine. Target on CPU: >= 50%.
3. Tokens/s of every variant (puretext, A, A-noshare, B, C) through the real training step (``Stepper.step``).

    .venv/bin/python benchmarks/bench_train.py [--vocab 50000] [--batch 256] [--len 12] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from types import SimpleNamespace

import numpy as np
import torch

from mmwe.lm import TrainConfig
from mmwe.lm.data import Dataset, Examples
from mmwe.lm.ddp import World
from mmwe.lm.loop import Stepper
from mmwe.lm.model import CandidateSampler, full_softmax_nll, sampled_softmax_nll, sampling_distribution


def timeit(fn, reps: int, warmup: int = 1) -> float:
    """Median seconds of ``fn()`` over ``reps`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def softmax_layer(V: int, P: int, N: int, S: int, reps: int) -> dict:
    """Seconds per step of the output layer alone: N positions, sampled (S candidates) vs full."""
    g = torch.Generator().manual_seed(0)
    W = torch.nn.Parameter(torch.randn(V, P, generator=g) * 0.1)
    b = torch.nn.Parameter(torch.zeros(V, 1))
    x0 = torch.randn(N, P, generator=g)
    y = torch.randint(4, V, (N,), generator=g)
    sampler = CandidateSampler(sampling_distribution(np.arange(V, 0, -1)), S, seed=0)
    opt = torch.optim.SGD([W, b], lr=0.1)

    def step(sampled: bool):
        x = x0.clone().requires_grad_()
        opt.zero_grad(set_to_none=True)
        nll = (sampled_softmax_nll(x, y, W, b, sampler.sample(), sampler.log_expected) if sampled
               else full_softmax_nll(x, y, W, b, chunk=N))
        nll.mean().backward()
        opt.step()

    return {"sampled_s": timeit(lambda: step(True), reps), "full_s": timeit(lambda: step(False), max(2, reps // 3))}


def synthetic_data(V: int, n: int, length: int, feat_dim: int, seed: int = 0) -> Dataset:
    """n sentences of ``length`` Zipf-distributed words, one random feature vector per sentence."""
    rng = np.random.default_rng(seed)
    ranks = np.minimum(rng.zipf(1.1, size=n * length), V - 5) + 3  # ids 4..V-1, frequent first
    ex = Examples(ranks.astype(np.int64), np.arange(0, n * length + 1, length, dtype=np.int64), np.arange(n))
    counts = np.bincount(ranks, minlength=V) + 1
    counts[:3] = 0
    feats = rng.standard_normal((n, feat_dim)).astype(np.float32)
    return Dataset(SimpleNamespace(itos=[""] * V), ex, ex, feats, counts, {})


def model_steps(data: Dataset, cfg: TrainConfig, batch: int, reps: int) -> float:
    """Median seconds of one real training step (batch building, forward, backward, clip, SGD)."""
    torch.manual_seed(0)
    from mmwe.lm.model import build_model

    model = build_model(cfg, len(data.target_counts), data.features.shape[1])
    st = Stepper(model, cfg, data, torch.device("cpu"), World())
    rng = np.random.default_rng(1)
    return timeit(lambda: st.step(rng.choice(len(data.train), batch, replace=False)), reps)


def gemm_rate(m: int, k: int, n: int, reps: int = 20) -> float:
    a, b = torch.randn(m, k), torch.randn(k, n)
    return 2 * m * k * n / timeit(lambda: torch.mm(a, b), reps, warmup=3)


def flops_per_token(cfg: TrainConfig, feat_dim: int, length: int) -> float:
    """Forward+backward (3x forward) multiply-adds x2 of Model A per target token."""
    E, H, P, S = cfg.emb_dim, cfg.hidden, cfg.proj, cfg.negatives
    gru = 2 * 3 * (E * H + H * H)
    head = 2 * H * P + 2 * (S + 1) * P
    image = 2 * feat_dim * H / (length + 1)  # h0 = ReLU(W_I f), once per sentence
    return 3 * (gru + head + image)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=256, help="sentences per step")
    ap.add_argument("--len", type=int, default=12, help="words per sentence")
    ap.add_argument("--feat-dim", type=int, default=1280, help="image feature size (EfficientNet-Lite0: 1280)")
    ap.add_argument("--full-batch", type=int, default=64, help="sentences per whole-model full-softmax step")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = TrainConfig()
    res: dict = {"vocab": a.vocab, "batch": a.batch, "len": a.len, "threads": torch.get_num_threads()}

    # 1. softmax layer, and whole Model A steps, sampled vs full
    n_pos = a.full_batch * (a.len + 1)
    res["softmax_layer"] = softmax_layer(a.vocab, cfg.proj, n_pos, cfg.negatives, a.reps)
    res["softmax_layer"]["positions"] = n_pos
    data = synthetic_data(a.vocab, max(4 * a.batch, 2048), a.len, a.feat_dim)
    full = model_steps(data, TrainConfig(model="A", negatives=0), a.full_batch, max(2, a.reps // 2))
    samp = model_steps(data, TrainConfig(model="A"), a.full_batch, a.reps)
    res["model_A_step"] = {"sentences": a.full_batch, "sampled_s": samp, "full_s": full}

    # 2. and 3. throughput of every variant at the paper's batch size; FLOPs/s of Model A vs GEMM
    res["tokens_per_s"] = {}
    for name, model, share in (("puretext", "puretext", True), ("A", "A", True), ("A-noshare", "A", False),
                               ("B", "B", True), ("C", "C", True)):
        sec = model_steps(data, TrainConfig(model=model, share=share), a.batch, a.reps)
        res["tokens_per_s"][name] = a.batch * (a.len + 1) / sec
    gemm = gemm_rate(a.batch, cfg.hidden, 3 * cfg.hidden)
    model_flops = res["tokens_per_s"]["A"] * flops_per_token(cfg, a.feat_dim, a.len)
    res["gemm_flops"], res["model_A_flops"] = gemm, model_flops
    report(res, a.json)
    return 0


def report(res: dict, as_json: bool) -> None:
    sl, ms = res["softmax_layer"], res["model_A_step"]
    res["ratios"] = {"softmax_layer_full_over_sampled": sl["full_s"] / sl["sampled_s"],
                     "model_A_step_full_over_sampled": ms["full_s"] / ms["sampled_s"],
                     "model_A_flops_over_gemm": res["model_A_flops"] / res["gemm_flops"]}
    if as_json:
        json.dump(res, sys.stdout, indent=2)
        print()
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"mmwe training speed (V={res['vocab']:,}, {res['threads']} threads)")
    for c in ("measure", "sampled softmax", "full softmax / reference", "ratio", "target"):
        t.add_column(c, justify="right" if c != "measure" else "left")
    r = res["ratios"]
    t.add_row(f"softmax layer step ({sl['positions']} positions)", f"{sl['sampled_s'] * 1e3:.1f} ms",
              f"{sl['full_s'] * 1e3:.1f} ms", f"{r['softmax_layer_full_over_sampled']:.1f}x", ">= 10x")
    t.add_row(f"Model A step ({ms['sentences']} sentences)", f"{ms['sampled_s'] * 1e3:.1f} ms",
              f"{ms['full_s'] * 1e3:.1f} ms", f"{r['model_A_step_full_over_sampled']:.1f}x", "")
    t.add_row("Model A FLOP/s vs torch.mm", f"{res['model_A_flops'] / 1e9:.1f} GFLOP/s",
              f"{res['gemm_flops'] / 1e9:.1f} GFLOP/s", f"{r['model_A_flops_over_gemm']:.0%}", ">= 50%")
    for name, tps in res["tokens_per_s"].items():
        t.add_row(f"tokens/s {name} (batch {res['batch']})", f"{tps:,.0f}", "", "", "")
    Console().print(t)


if __name__ == "__main__":
    sys.exit(main())
