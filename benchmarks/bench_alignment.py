"""Cost of `mmwe mnno --alignment` against `mmwe mnno` alone, in one run, with the roofline of each part.

1. Whole process, start-up included (each a fresh subprocess, A.npy and B.npy on disk, N = --n, d = --d):
     mnno        ``mmwe mnno A.npy B.npy --k 10 --json``
     alignment   the same with ``--alignment`` (the eight metrics, chance levels; the kNN metrics reuse mNNO's lists)
     platonic    the same with ``--alignment --l2-normalize --clip-quantile 0.95`` (the reference preprocessing)
   Runs interleaved, best wall time of --repeats. Target: alignment / mnno <= 1.5.
2. Inside one process, the parts of the alignment report, each beside its roofline measured in the same run:
   the exact search of both sets (N² d flops for one symmetric pass per set, at numpy's float32 GEMM rate on
   the search's 4096 x d x 4096 block), the three d x d float64 products (``Grams``: 3 · 2 N d² flops at the
   float64 GEMM rate), CKNNA (3 N K d multiply-adds of gathered rows: memory-bound, shown as GB/s of rows
   read), SVCCA (scikit-learn's CCA on N x 10: its own cost), the kNN metrics and their chance levels.

    .venv/bin/python benchmarks/bench_alignment.py [--n 30000] [--d 300] [--k 10] [--repeats 2] [--threads T]
        [--permutations 0] [--json]

The random sets share structure (B = A W / sqrt(d) + noise), so the metrics are far from chance.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def _child(cmd: list[str], env: dict) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds of the child, its JSON) of one subprocess run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), json.loads(out)


def _mmwe() -> list[str]:
    exe = Path(sys.executable).with_name("mmwe")
    return [str(exe)] if exe.exists() else ([shutil.which("mmwe")] if shutil.which("mmwe") else
                                              [sys.executable, "-m", "mmwe"])


def whole_process(A: np.ndarray, B: np.ndarray, k: int, threads: int, repeats: int, permutations: int) -> dict:
    env = {**os.environ, **{v: str(threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "A.npy"), os.path.join(tmp, "B.npy")
        np.save(a, A)
        np.save(b, B)
        base = _mmwe() + ["mnno", a, b, "--k", str(k), "--permutations", str(permutations), "--json"]
        cmds = {"mnno": base, "alignment": base + ["--alignment"],
                "platonic": base + ["--alignment", "--l2-normalize", "--clip-quantile", "0.95"]}
        runs: dict[str, list] = {name: [] for name in cmds}
        for _ in range(repeats):  # interleaved: a busy moment hurts all alike
            for name, cmd in cmds.items():
                runs[name].append(_child(cmd, env))
    best = {name: min(r, key=lambda x: x[0]) for name, r in runs.items()}
    out = {f"proc_{name}_s": r[0] for name, r in best.items()}
    out.update({f"proc_{name}_cpu_s": r[1] for name, r in best.items()})
    for name in ("alignment", "platonic"):
        out[f"proc_{name}_over_mnno"] = best[name][0] / best["mnno"][0]
        out[f"proc_{name}_over_mnno_cpu"] = best[name][1] / best["mnno"][1]
    out["metrics"] = {name: value for name, value in best["alignment"][2].items() if isinstance(value, float)}
    out["metrics_platonic"] = {name: value for name, value in best["platonic"][2].items()
                               if isinstance(value, float)}
    return out


def gemm_rates(d: int, repeats: int = 3) -> dict:
    """Best flop/s of numpy's BLAS: float32 on the search's block (4096 x d x 4096), float64 on an N x d Gram."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((8192, d), dtype=np.float32)
    out = np.empty((4096, 4096), dtype=np.float32)
    Y, Y2 = rng.standard_normal((30000, d)), rng.standard_normal((30000, d))
    rates = {}
    for name, fn, flops in (("f32", lambda: np.matmul(X[:4096], X[4096:].T, out=out), 2 * 4096 * 4096 * d),
                            ("f64", lambda: Y.T @ Y2, 2 * 30000 * d * d)):
        fn()
        rates[name] = flops / min(_timed(fn)[0] for _ in range(repeats))
    return rates


def in_process(A: np.ndarray, B: np.ndarray, k: int, permutations: int) -> dict:
    import sklearn.cross_decomposition  # noqa: F401  (imported once here, not timed inside SVCCA)

    from mmwe.metrics import alignment as al
    from mmwe.metrics.alignment_kernels import Grams, cknna_from_lists, kernel_scores, svcca

    n, d = A.shape
    rates = gemm_rates(d)
    t_search, (NA, NB) = _timed(lambda: al.neighbour_lists(A, B, k))
    A64, B64 = al.as_pair(A, B)
    parts = {"search": (t_search, 2 * float(n) * n * d / rates["f32"])}
    t, grams = _timed(lambda: Grams(A64, B64))
    parts["grams"] = (t, 3 * 2 * float(n) * d * d / rates["f64"])
    parts["cka + unbiased_cka"] = (_timed(lambda: kernel_scores(A64, B64, grams=grams))[0], None)
    parts["cknna"] = (_timed(lambda: cknna_from_lists(A64, B64, NA, NB))[0], None)
    parts["svcca"] = (_timed(lambda: svcca(A64, B64, grams=grams))[0], None)
    parts["knn metrics"] = (_timed(lambda: al.knn_scores(NA, NB))[0], None)
    parts["chance levels"] = (_timed(lambda: al.knn_chance(NA))[0], None)
    if permutations:
        parts[f"null ({permutations} shuffles)"] = (_timed(lambda: al.knn_null(NA, NB, permutations))[0], None)
    extra = sum(t for name, (t, _) in parts.items() if name != "search")
    return {"gemm_f32_gflops": rates["f32"] / 1e9, "gemm_f64_gflops": rates["f64"] / 1e9,
            "parts": {name: {"s": t, "roofline_s": r} for name, (t, r) in parts.items()},
            "extra_over_search": extra / t_search}


def _print(r: dict) -> None:
    print(f"N = {r['n']}, d = {r['d']}, K = {r['k']}, {r['threads']} threads, best of {r['repeats']}, "
          f"load average at start {r['load']:.1f}")
    print("\n1. whole process (start-up included)")
    print(f"{'command':<52}{'wall s':>9}{'CPU s':>9}{'x mnno':>9}")
    for name, label in (("mnno", "mmwe mnno"), ("alignment", "mmwe mnno --alignment"),
                        ("platonic", "mmwe mnno --alignment --l2-normalize --clip-quantile 0.95")):
        ratio = r.get(f"proc_{name}_over_mnno", 1.0)
        print(f"{label:<52}{r[f'proc_{name}_s']:>9.2f}{r[f'proc_{name}_cpu_s']:>9.2f}{ratio:>9.2f}")
    print("   target: --alignment / mnno <= 1.5")
    print(f"\n2. in one process (numpy float32 GEMM {r['gemm_f32_gflops']:.1f} GFLOP/s, float64 "
          f"{r['gemm_f64_gflops']:.1f} GFLOP/s, measured now)")
    print(f"{'part':<28}{'s':>9}{'roofline s':>12}{'x roofline':>12}")
    for name, p in r["parts"].items():
        roof = p["roofline_s"]
        print(f"{name:<28}{p['s']:>9.3f}" + (f"{roof:>12.3f}{p['s'] / roof:>12.2f}" if roof else f"{'':>12}{'':>12}"))
    print(f"   everything but the search: {r['extra_over_search']:.2f} x the search")
    print("\nmetrics:", ", ".join(f"{k} {v:.4f}" for k, v in r["metrics"].items() if not k.endswith(("_std",))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30_000, help="rows per set")
    ap.add_argument("--d", type=int, default=300, help="dimensions")
    ap.add_argument("--k", type=int, default=10, help="neighbours")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every run")
    ap.add_argument("--repeats", type=int, default=2, help="table 1: best of N (interleaved)")
    ap.add_argument("--permutations", type=int, default=0, help="shuffles of the null (both commands alike)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = ap.parse_args()

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    A = rng.standard_normal((args.n, args.d), dtype=np.float32)
    W = rng.standard_normal((args.d, args.d), dtype=np.float32) / np.sqrt(args.d)
    B = (A @ W + rng.standard_normal((args.n, args.d), dtype=np.float32)).astype(np.float32)
    r = {"n": args.n, "d": args.d, "k": args.k, "threads": args.threads, "repeats": args.repeats,
         "load": os.getloadavg()[0]}
    r.update(whole_process(A, B, args.k, args.threads, args.repeats, args.permutations))
    with threadpool_limits(args.threads):
        r.update(in_process(A, B, args.k, args.permutations))
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        _print(r)


if __name__ == "__main__":
    main()
