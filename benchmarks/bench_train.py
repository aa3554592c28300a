"""Training speed of the Mao et al. models, side by side in one run.

1. Softmax layer at V words (default 50,000): one training step (loss, backward, SGD update of the output
   table) with the sampled softmax (1024 candidates, sparse row updates) vs the full softmax (dense update).
   The same two variants for a whole Model A step. Target: sampled >= 10x faster for the layer.
2. Model A throughput as model FLOPs/s over the rate of a torch.mm of the GRU's own size (batch x H by H x 3H)
   measured now on this machine. Target on CPU: >= 50%.
3. Tokens/s of every variant (puretext, A, A-noshare, B, C) through the real training step (``Stepper.step``).
4. Precision: fp32 and bf16 GEMM rates of the GRU gate shapes ((batch x (len + 1)) x H by H x 3H, all positions at
   once, and batch x H by H x 3H, one recurrence step), then Model A tokens/s with ``precision=fp32`` and ``bf16``
   (steps interleaved, same batches) and each one's model FLOP/s over both rooflines. Target: bf16 >= 2x fp32.
5. Profile of one Model A step in each precision: batch building, the GRU (forward + backward), the FC + sampled
   softmax (forward + backward), the sparse/dense update (clip + SGD), and the rest; plus torch.profiler's top ops.
6. ``--parity CORPUS``: trains Model A on a real corpus in fp32 and in bf16 (same seed and steps) and prints their
   validation perplexity and triplet accuracy with its 95% CI. Parity: bf16 perplexity within 2% of fp32's and
   bf16 triplet accuracy inside fp32's CI.

    .venv/bin/python benchmarks/bench_train.py [--vocab 50000] [--batch 256] [--len 12] [--json]
    .venv/bin/python benchmarks/bench_train.py --only precision,profile
    .venv/bin/python benchmarks/bench_train.py --only parity --parity CORPUS [--triplets cldr-triplets]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
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
    ex = Examples(ranks.astype(np.int64), np.arange(0, n * length + 1, length, dtype=np.int64), np.arange(n),
                  np.full(n, length))
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


def paired_times(fns: dict, reps: int, warmup: int = 1) -> dict:
    """Median seconds of each ``fns[name]()``, run in turn (round robin) so that load on a shared machine falls
    on all of them alike."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def gemm_rates(shapes: dict, reps: int) -> dict:
    """FLOP/s of torch.mm in fp32 and in bf16 (bf16 inputs, as autocast gives them) for each (m, k, n)."""
    out = {}
    for name, (m, k, n) in shapes.items():
        a, b = torch.randn(m, k), torch.randn(k, n)
        ab, bb = a.bfloat16(), b.bfloat16()
        sec = paired_times({"fp32": lambda a=a, b=b: torch.mm(a, b), "bf16": lambda a=ab, b=bb: torch.mm(a, b)},
                           reps, warmup=3)
        out[name] = {"shape": [m, k, n], **{p: 2 * m * k * n / t for p, t in sec.items()}}
    return out


def steppers(data: Dataset, precisions=("fp32", "bf16"), model: str = "A") -> dict:
    """One Stepper per precision, each from the same initial weights (seed 0)."""
    from mmwe.lm.model import build_model

    out = {}
    for prec in precisions:
        torch.manual_seed(0)
        cfg = TrainConfig(model=model, precision=prec)
        out[prec] = Stepper(build_model(cfg, len(data.target_counts), data.features.shape[1]), cfg, data,
                            torch.device("cpu"), World())
    return out


def precision_steps(data: Dataset, batch: int, reps: int) -> dict:
    """Seconds per Model A step in fp32 and in bf16: the same batches, steps interleaved."""
    rng = np.random.default_rng(1)
    order = [rng.choice(len(data.train), batch, replace=False) for _ in range(reps + 1)]
    fns = {}
    for prec, st in steppers(data).items():
        it = iter(order)
        fns[prec] = lambda st=st, it=it: st.step(next(it))
    return paired_times(fns, reps)


def profile_parts(data: Dataset, batch: int, reps: int) -> dict:
    """Where a Model A step's time goes, per precision (ms): measured parts, each in turn, the same batch.

    batch: make_batch; gru: the GRU's forward + backward on the step's embeddings and h0; head: the FC layer and
    the sampled softmax, forward + backward (sparse row gradients included); fwd_bwd: the whole forward + backward
    (the model's loss, ``model(batch)``); step: Stepper.step. Derived: update = step - batch - fwd_bwd (candidate
    sampling, gradient clipping with the sparse gradients' coalescing, SGD on dense and sparse rows); rest = fwd_bwd
    - gru - head
    (embedding lookups, image layer, masking)."""
    from mmwe.lm.data import make_batch

    idx = np.random.default_rng(2).choice(len(data.train), batch, replace=False)
    cpu = torch.device("cpu")
    fns, sts = {}, steppers(data)
    for prec, st in sts.items():
        m, b = st.model, make_batch(data.train, idx, data.features, cpu)
        cands, logq = st.sampler.sample(), st.sampler.log_expected
        with st.autocast():
            emb, h0 = m.embed(b.inp).detach(), m.image_target(b.feats).unsqueeze(0).detach()
            out = m.gru(emb, h0)[0].detach()
        emb.requires_grad_(), h0.requires_grad_(), out.requires_grad_()

        def gru(st=st, m=m, emb=emb, h0=h0):
            with st.autocast():
                y, _ = m.gru(emb, h0)
            y.float().sum().backward()

        def head(st=st, m=m, b=b, out=out, cands=cands, logq=logq):
            with st.autocast():
                x = m.proj(out)
            xs = x[b.mask].float()
            sampled_softmax_nll(xs, b.tgt[b.mask], m.output_weight, m.out_bias.weight, cands, logq).sum().backward()

        def fwd_bwd(st=st, m=m, b=b, cands=cands, logq=logq):
            st.optimizer.zero_grad(set_to_none=True)
            with st.autocast():
                lm_sum, _ = m(b, cands, logq)
            (lm_sum / b.mask.sum()).backward()

        fns |= {f"{prec}/batch": lambda: make_batch(data.train, idx, data.features, cpu), f"{prec}/gru": gru,
                f"{prec}/head": head, f"{prec}/fwd_bwd": fwd_bwd, f"{prec}/step": lambda st=st: st.step(idx)}
    sec = paired_times(fns, reps)
    out = {}
    for prec in sts:
        t = {k.split("/")[1]: v * 1e3 for k, v in sec.items() if k.startswith(prec + "/")}
        t["update"] = t["step"] - t["batch"] - t["fwd_bwd"]
        t["rest"] = t["fwd_bwd"] - t["gru"] - t["head"]
        out[prec] = t
    return out


def top_ops(data: Dataset, batch: int, n: int = 8) -> dict:
    """torch.profiler's top ``n`` ops by self CPU time over 3 Model A steps, per precision: (op, ms a step, share)."""
    from torch.profiler import ProfilerActivity, profile

    idx = np.random.default_rng(3).choice(len(data.train), batch, replace=False)
    out = {}
    for prec, st in steppers(data).items():
        st.step(idx)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                st.step(idx)
        ev = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
        total = sum(e.self_cpu_time_total for e in ev)
        out[prec] = [(e.key, e.self_cpu_time_total / 3e3, e.self_cpu_time_total / total) for e in ev[:n]]
    return out


def parity(corpus: str, triplets: str, epochs: int, seed: int, out: str | None, threads: int | None) -> dict:
    """Model A on ``corpus`` in fp32 and in bf16 (small-corpus settings of mmwe.experiments.mao, ``epochs``
    epochs, no early stop): validation perplexity, triplet accuracy with its bootstrap 95% CI, and the exact McNemar
    p between the two on the triplets both cover."""
    import tempfile
    from dataclasses import replace

    from mmwe.datasets.triplets import load_triplets
    from mmwe.experiments.mao import SMALL_CORPUS_OVERRIDES
    from mmwe.lm import train_lm
    from mmwe.metrics.triplets import compare_triplets, evaluate_triplets

    if triplets == "test-split":  # the union corpus: the mao study's triplets from its test-split images
        from mmwe.experiments.mao import test_split_triplets

        tset = test_split_triplets(corpus, seed=0)[0]
    else:
        tset = load_triplets(triplets)
    base = TrainConfig(**(SMALL_CORPUS_OVERRIDES | {"model": "A", "seed": seed, "epochs": epochs,
                                                    "patience": epochs, "device": "cpu", "threads": threads}))
    res: dict = {"corpus": corpus, "triplets": tset.name, "seed": seed, "epochs": epochs}
    vecs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for prec in ("fp32", "bf16"):
            run = Path(out or tmp) / f"A-{prec}-s{seed}"
            vecs[prec], m = train_lm(corpus, None, replace(base, precision=prec), run)
            t = evaluate_triplets(vecs[prec], tset, ci=True, seed=0)
            res[prec] = {"val_perplexity": m["val_perplexity"], "steps": m["steps"], "tokens_per_s": m["tokens_per_s"],
                         **{k: t[k] for k in ("accuracy", "ci_low", "ci_high", "covered", "triplets")}}
    f, b = res["fp32"], res["bf16"]
    res["ppl_rel_diff"] = b["val_perplexity"] / f["val_perplexity"] - 1
    res["acc_in_fp32_ci"] = f["ci_low"] <= b["accuracy"] <= f["ci_high"]
    res["mcnemar_p"] = compare_triplets(vecs["fp32"], vecs["bf16"], tset)["p"]
    res["parity"] = abs(res["ppl_rel_diff"]) <= 0.02 and res["acc_in_fp32_ci"]
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=256, help="sentences per step")
    ap.add_argument("--len", type=int, default=12, help="words per sentence")
    ap.add_argument("--feat-dim", type=int, default=1280, help="image feature size (EfficientNet-Lite0: 1280)")
    ap.add_argument("--full-batch", type=int, default=64, help="sentences per whole-model full-softmax step")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--only", default="speed,precision,profile",
                    help="sections, comma-separated: speed (1-3), precision (4), profile (5), parity (6)")
    ap.add_argument("--parity", metavar="CORPUS", help="corpus folder of the parity runs (section 6)")
    ap.add_argument("--triplets", default="cldr-triplets",
                    help="parity triplets: a name, a TSV, or test-split (mined from the corpus's test images)")
    ap.add_argument("--parity-epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--parity-out", help="keep the parity runs in this folder (default: a temporary one)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    only = {x.strip() for x in a.only.split(",") if x.strip()}
    if a.parity:
        only.add("parity")
    if "parity" in only and not a.parity:
        ap.error("--only parity needs --parity CORPUS")
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = TrainConfig()
    res: dict = {"vocab": a.vocab, "batch": a.batch, "len": a.len, "threads": torch.get_num_threads()}
    data = synthetic_data(a.vocab, max(4 * a.batch, 2048), a.len, a.feat_dim)

    if "speed" in only:
        print("[bench_train] speed", file=sys.stderr, flush=True)
        # 1. softmax layer, and whole Model A steps, sampled vs full
        n_pos = a.full_batch * (a.len + 1)
        res["softmax_layer"] = softmax_layer(a.vocab, cfg.proj, n_pos, cfg.negatives, a.reps)
        res["softmax_layer"]["positions"] = n_pos
        full = model_steps(data, TrainConfig(model="A", negatives=0, precision="fp32"), a.full_batch,
                           max(2, a.reps // 2))
        samp = model_steps(data, TrainConfig(model="A", precision="fp32"), a.full_batch, a.reps)
        res["model_A_step"] = {"sentences": a.full_batch, "sampled_s": samp, "full_s": full}
        # 2. and 3. throughput of every variant at the paper's batch size (fp32); FLOPs/s of Model A vs GEMM
        res["tokens_per_s"] = {}
        for name, model, share in (("puretext", "puretext", True), ("A", "A", True), ("A-noshare", "A", False),
                                   ("B", "B", True), ("C", "C", True)):
            sec = model_steps(data, TrainConfig(model=model, share=share, precision="fp32"), a.batch, a.reps)
            res["tokens_per_s"][name] = a.batch * (a.len + 1) / sec
        res["gemm_flops"] = gemm_rate(a.batch, cfg.hidden, 3 * cfg.hidden)
        res["model_A_flops"] = res["tokens_per_s"]["A"] * flops_per_token(cfg, a.feat_dim, a.len)
    if "precision" in only:
        print("[bench_train] precision", file=sys.stderr, flush=True)
        tokens, fpt = a.batch * (a.len + 1), flops_per_token(cfg, a.feat_dim, a.len)
        shapes = {"all_positions": (tokens, cfg.hidden, 3 * cfg.hidden), "one_step": (a.batch, cfg.hidden,
                                                                                       3 * cfg.hidden)}
        gemm = gemm_rates(shapes, max(10, 2 * a.reps))
        sec = precision_steps(data, a.batch, max(a.reps, 5))
        res["precision"] = {"gemm": gemm, "step_s": sec, "tokens_per_s": {p: tokens / t for p, t in sec.items()},
                            "flops_per_token": fpt}
        res["precision"]["speedup_bf16"] = sec["fp32"] / sec["bf16"]
    if "profile" in only:
        print("[bench_train] profile", file=sys.stderr, flush=True)
        res["profile"] = profile_parts(data, a.batch, max(a.reps, 5))
        res["top_ops"] = top_ops(data, a.batch)
    if "parity" in only:
        print("[bench_train] parity", file=sys.stderr, flush=True)
        res["parity"] = parity(a.parity, a.triplets, a.parity_epochs, a.seed, a.parity_out, a.threads)
    report(res, a.json)
    return 0


def report(res: dict, as_json: bool) -> None:
    if "softmax_layer" in res:
        sl, ms = res["softmax_layer"], res["model_A_step"]
        res["ratios"] = {"softmax_layer_full_over_sampled": sl["full_s"] / sl["sampled_s"],
                         "model_A_step_full_over_sampled": ms["full_s"] / ms["sampled_s"],
                         "model_A_flops_over_gemm": res["model_A_flops"] / res["gemm_flops"]}
    if "precision" in res:
        pr = res["precision"]
        pr["ratios"] = {f"{p}_over_{q}_{shape}": pr["tokens_per_s"][p] * pr["flops_per_token"] / g[q]
                        for p in ("fp32", "bf16") for q in ("fp32", "bf16") for shape, g in pr["gemm"].items()}
    if as_json:
        json.dump(res, sys.stdout, indent=2)
        print()
        return
    from rich.console import Console

    con = Console()
    if "softmax_layer" in res:
        con.print(speed_table(res))
    if "precision" in res:
        con.print(precision_table(res))
    if "profile" in res:
        con.print(profile_table(res))
    if "parity" in res:
        con.print(parity_table(res["parity"]))


def speed_table(res: dict):
    from rich.table import Table

    sl, ms = res["softmax_layer"], res["model_A_step"]
    t = Table(title=f"mmwe training speed, fp32 (V={res['vocab']:,}, {res['threads']} threads)")
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
    return t


def precision_table(res: dict):
    from rich.table import Table

    pr = res["precision"]
    g = pr["gemm"]
    t = Table(title=f"Model A in fp32 and bf16 (batch {res['batch']}, V={res['vocab']:,}, {res['threads']} threads; "
                    "rooflines: torch.mm of the GRU gate shapes, same run)")
    for c in ("measure", "fp32", "bf16", "bf16 / fp32"):
        t.add_column(c, justify="right" if c != "measure" else "left")
    for shape, r in g.items():
        m, k, n = r["shape"]
        t.add_row(f"torch.mm {m:,} x {k} by {k} x {n:,} ({shape}), GFLOP/s", f"{r['fp32'] / 1e9:.1f}",
                  f"{r['bf16'] / 1e9:.1f}", f"{r['bf16'] / r['fp32']:.2f}x")
    tps = pr["tokens_per_s"]
    t.add_row("Model A step (ms)", f"{pr['step_s']['fp32'] * 1e3:.1f}", f"{pr['step_s']['bf16'] * 1e3:.1f}", "")
    t.add_row("Model A tokens/s", f"{tps['fp32']:,.0f}", f"{tps['bf16']:,.0f}", f"{pr['speedup_bf16']:.2f}x")
    for q in ("fp32", "bf16"):
        for shape in g:
            t.add_row(f"model FLOP/s over the {q} roofline ({shape})",
                      f"{pr['ratios'][f'fp32_over_{q}_{shape}']:.0%}", f"{pr['ratios'][f'bf16_over_{q}_{shape}']:.0%}",
                      "")
    return t


def profile_table(res: dict):
    from rich.table import Table

    prof = res["profile"]
    t = Table(title="Where a Model A step goes (ms, share of the step; parts measured in turn, same batch)")
    t.add_column("part", justify="left")
    for prec in prof:
        t.add_column(prec, justify="right")
    for part in ("batch", "gru", "head", "rest", "update", "step"):
        t.add_row(part, *[f"{p[part]:.1f} ({p[part] / p['step']:.0%})" for p in prof.values()])
    con_rows = Table(title="torch.profiler: top ops by self CPU time (ms a step, share)")
    for prec in res["top_ops"]:
        con_rows.add_column(prec, justify="left")
    ops = list(res["top_ops"].values())
    for i in range(max(len(o) for o in ops)):
        con_rows.add_row(*[f"{o[i][0]} {o[i][1]:.1f} ({o[i][2]:.0%})" if i < len(o) else "" for o in ops])
    from rich.console import Group

    return Group(t, con_rows)


def parity_table(p: dict):
    from rich.table import Table

    t = Table(title=f"Parity, Model A on {p['corpus']} (seed {p['seed']}, {p['epochs']} epochs, triplets "
                    f"{p['triplets']})")
    for c in ("precision", "steps", "val perplexity", "triplet acc.", "95% CI", "covered", "tokens/s"):
        t.add_column(c, justify="right")
    for prec in ("fp32", "bf16"):
        r = p[prec]
        t.add_row(prec, str(r["steps"]), f"{r['val_perplexity']:.3f}", f"{r['accuracy']:.4f}",
                  f"[{r['ci_low']:.4f}, {r['ci_high']:.4f}]", f"{r['covered']}/{r['triplets']}",
                  f"{r['tokens_per_s']:,.0f}")
    t.caption = (f"perplexity bf16/fp32 - 1 = {p['ppl_rel_diff']:+.2%} (limit 2%); bf16 accuracy inside fp32's CI: "
                 f"{p['acc_in_fp32_ci']}; McNemar p (fp32 vs bf16) = {p['mcnemar_p']:.3g}; "
                 f"parity: {'yes' if p['parity'] else 'NO'}")
    return t


if __name__ == "__main__":
    sys.exit(main())
