"""mNNO / exact kNN speed, side by side in one run: mmwe against faiss, the released procedure and the GEMM roofline.

Three tables (same random data and thread count for every contender):

1. Whole process, start-up included (each a fresh subprocess, V.npy and Z.npy on disk, N = --n):
     mmwe     ``mmwe mnno V.npy Z.npy --k 10 --json`` (the CLI as shipped: exact search, its default extras);
     faiss    ``python -c``: import numpy + faiss, load both files, normalise rows, ``faiss.knn(x, x, k+1,
              METRIC_INNER_PRODUCT)`` for both sets, drop the self column, vectorised overlap count.
   Target: mmwe / faiss <= 0.6 (wall time; the children's CPU time beside it).
2. Inside one process: ``mnno()`` excluding / including self, the same faiss procedure, linear CKA (the CLI's
   ``--alignment`` extra) and, unless --no-released, Collell & Moens' code (sklearn ``NearestNeighbors(
   n_neighbors=k, metric='cosine', algorithm='brute').fit(X).kneighbors(X)`` + a Python loop of intersections).
   Target: released / mmwe >= 8.
3. Exact kNN of one set (``knn(X, k)``, all threads) against the symmetric GEMM roofline at N = 30k and 100k
   (and 200k with --big): roofline = N^2 d flops (the N^2/2 pairs of one symmetric pass, 2d flops each)
   divided by the float32 GEMM rate measured in the same run with ``torch.mm`` on the search's block shape
   (4096 x d times d x 4096). The rate of numpy's BLAS (the library the search calls) is shown as well, with
   the ratio against it. Target: kNN / roofline <= 2.

    .venv/bin/python benchmarks/bench_knn.py [--n 30000] [--d 300] [--k 10] [--threads T] [--repeats 2]
        [--roofline-n 30000,100000] [--big] [--no-released] [--json]
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

FAISS_SCRIPT = """
import sys, json, numpy as np, faiss
k = int(sys.argv[3]); lists = []
for path in sys.argv[1:3]:
    X = np.load(path)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    _D, I = faiss.knn(X, X, k + 1, metric=faiss.METRIC_INNER_PRODUCT)  # (N, k+1), self first
    lists.append(I[:, 1:])
a, b = lists
print(json.dumps({"mnno": float((a[:, :, None] == b[:, None, :]).sum() / a.size)}))
"""


def _timed(fn) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, value)."""
    t, c = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - t, time.process_time() - c, value


def _child(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of the child, mNNO it printed) of one subprocess run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, float(json.loads(out)["mnno"])


def _mmwe_command() -> list[str]:
    exe = Path(sys.executable).with_name("mmwe")
    return [str(exe)] if exe.exists() else ([shutil.which("mmwe")] if shutil.which("mmwe") else
                                              [sys.executable, "-m", "mmwe"])


def whole_process(V: np.ndarray, Z: np.ndarray, k: int, threads: int, repeats: int) -> dict:
    env = {**os.environ, **{v: str(threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "V.npy"), os.path.join(tmp, "Z.npy")
        np.save(a, V)
        np.save(b, Z)
        cmds = {"mmwe": _mmwe_command() + ["mnno", a, b, "--k", str(k), "--json"],
                "faiss": [sys.executable, "-c", FAISS_SCRIPT, a, b, str(k)]}
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cmds}
        for _ in range(repeats):  # interleaved, so a busy moment hurts both alike
            for name, cmd in cmds.items():
                runs[name].append(_child(cmd, env))
    best = {name: min(r) for name, r in runs.items()}  # by wall time
    return {**{f"proc_{name}_s": r[0] for name, r in best.items()},
            **{f"proc_{name}_cpu_s": r[1] for name, r in best.items()},
            **{f"proc_{name}_mnno": r[2] for name, r in best.items()},
            "proc_mmwe_over_faiss": best["mmwe"][0] / best["faiss"][0],
            "proc_mmwe_over_faiss_cpu": best["mmwe"][1] / best["faiss"][1]}


def faiss_mnno(V: np.ndarray, Z: np.ndarray, k: int) -> float:
    import faiss

    from mmwe.neighbors import overlap_counts

    lists = []
    for X in (V, Z):
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        _D, I = faiss.knn(Xn, Xn, k + 1, metric=faiss.METRIC_INNER_PRODUCT)  # (N, k+1), self first
        lists.append(I[:, 1:])
    return float(overlap_counts(*lists).sum() / lists[0].size)


def released_mnno(V: np.ndarray, Z: np.ndarray, k: int) -> float:
    """The procedure of compute_MNNO in gcollell/neural_cross_modal_maps (self counted as a neighbour)."""
    from sklearn.neighbors import NearestNeighbors

    ind = [NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(X).kneighbors(X)[1]
           for X in (V, Z)]
    overlap = [len([j for j in ind[0][i] if j in ind[1][i]]) for i in range(len(V))]
    return float(np.mean(overlap) / k)


def in_process(V: np.ndarray, Z: np.ndarray, k: int, repeats: int, released: bool) -> dict:
    from mmwe.metrics.overlap import linear_cka, mnno

    contenders = {"mmwe": lambda: mnno(V, Z, k=k), "faiss": lambda: faiss_mnno(V, Z, k),
                  "mmwe_self": lambda: mnno(V, Z, k=k, include_self=True), "cka": lambda: linear_cka(V, Z)}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    values: dict[str, float] = {}
    for _ in range(repeats):  # interleaved
        for name, fn in contenders.items():
            wall, cpu, values[name] = _timed(fn)
            times[name].append((wall, cpu))
    if released:
        wall, cpu, values["released"] = _timed(lambda: released_mnno(V, Z, k))
        times["released"] = [(wall, cpu)]
    best = {name: min(ts) for name, ts in times.items()}
    out = {**{f"{name}_s": t[0] for name, t in best.items()}, **{f"{name}_cpu_s": t[1] for name, t in best.items()},
           **{f"{name}_value": v for name, v in values.items()},
           "mmwe_over_faiss": best["mmwe"][0] / best["faiss"][0]}
    if released:
        out["released_over_mmwe"] = best["released"][0] / best["mmwe_self"][0]
    return out


def gemm_rates(d: int, repeats: int = 5) -> dict:
    """float32 GEMM rate (flop/s, best of ``repeats``) of torch.mm and of numpy's BLAS on (4096, d) x (d, 4096)."""
    import torch

    X = np.random.default_rng(2).standard_normal((8192, d), dtype=np.float32)
    T = torch.from_numpy(X)
    out = np.empty((4096, 4096), dtype=np.float32)
    tout = torch.from_numpy(out)
    flops = 2 * 4096 * 4096 * d
    rates = {}
    for name, fn in (("torch", lambda: torch.mm(T[:4096], T[4096:].T, out=tout)),
                     ("numpy", lambda: np.matmul(X[:4096], X[4096:].T, out=out))):
        fn()
        best = min(_timed(fn)[0] for _ in range(repeats))
        rates[name] = flops / best
    return rates


def roofline(sizes: list[int], d: int, k: int) -> dict:
    from mmwe.neighbors import knn

    rates = gemm_rates(d)
    rows = []
    for n in sizes:
        X = np.random.default_rng(n).standard_normal((n, d), dtype=np.float32)
        wall, cpu, _ = _timed(lambda X=X: knn(X, k))
        work = float(n) * n * d  # one symmetric pass: N^2/2 pairs x 2d flops
        rows.append({"n": n, "knn_s": wall, "knn_cpu_s": cpu, "roofline_torch_s": work / rates["torch"],
                     "roofline_numpy_s": work / rates["numpy"], "ratio_torch": wall * rates["torch"] / work,
                     "ratio_numpy": wall * rates["numpy"] / work})
        del X
    return {"gemm_torch_gflops": rates["torch"] / 1e9, "gemm_numpy_gflops": rates["numpy"] / 1e9, "roofline": rows}


def _print(r: dict) -> None:
    print(f"mNNO@{r['k']} cosine, two random sets of {r['n']} x {r['d']}, {r['threads']} threads, best of "
          f"{r['repeats']} (interleaved)")
    print(f"\n{'whole process (start-up included)':<44} {'wall s':>8} {'CPU s':>8} {'mNNO':>8}")
    for name, label in (("mmwe", "mmwe mnno V.npy Z.npy --k 10 --json"), ("faiss", "python: faiss.knn x 2 + overlap")):
        print(f"{label:<44} {r[f'proc_{name}_s']:>8.2f} {r[f'proc_{name}_cpu_s']:>8.2f} {r[f'proc_{name}_mnno']:>8.4f}")
    print(f"mmwe / faiss = {r['proc_mmwe_over_faiss']:.3f}   (target <= 0.6; CPU-time ratio "
          f"{r['proc_mmwe_over_faiss_cpu']:.3f})")
    print(f"\n{'inside one process':<44} {'wall s':>8} {'CPU s':>8} {'value':>8}")
    for name, label in (("mmwe", "mnno() exact, excl. self"), ("mmwe_self", "mnno() exact, incl. self"),
                        ("faiss", "faiss.knn x 2 + overlap"), ("cka", "linear_cka (the CLI's --alignment)"),
                        ("released", "released sklearn + loop (incl. self)")):
        if f"{name}_s" in r:
            print(f"{label:<44} {r[name + '_s']:>8.2f} {r[name + '_cpu_s']:>8.2f} {r[name + '_value']:>8.4f}")
    print(f"mnno() / faiss = {r['mmwe_over_faiss']:.3f}" + (f"   released / mnno(incl. self) = "
                                                          f"{r['released_over_mmwe']:.1f} (target >= 8)"
                                                          if "released_over_mmwe" in r else ""))
    print(f"\nexact kNN of one set (K = {r['k']}, d = {r['d']}) vs the symmetric GEMM roofline N^2 d / rate; float32 "
          f"GEMM: torch.mm {r['gemm_torch_gflops']:.1f} GFLOP/s, numpy's BLAS {r['gemm_numpy_gflops']:.1f} GFLOP/s")
    print(f"{'N':>8} {'kNN s':>8} {'CPU s':>8} {'roofline s':>11} {'ratio':>7} {'(numpy BLAS: roofline s':>24} "
          f"{'ratio)':>7}")
    for row in r["roofline"]:
        print(f"{row['n']:>8} {row['knn_s']:>8.2f} {row['knn_cpu_s']:>8.2f} {row['roofline_torch_s']:>11.2f} "
              f"{row['ratio_torch']:>7.2f} {row['roofline_numpy_s']:>24.2f} {row['ratio_numpy']:>7.2f}")
    print("target: ratio <= 2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30_000, help="rows per set (tables 1 and 2)")
    ap.add_argument("--d", type=int, default=300, help="dimensions")
    ap.add_argument("--k", type=int, default=10, help="neighbours")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every library")
    ap.add_argument("--repeats", type=int, default=2, help="tables 1 and 2: best of N (interleaved)")
    ap.add_argument("--roofline-n", default="30000,100000", help="table 3: comma-separated N")
    ap.add_argument("--big", action="store_true", help="table 3 also at N = 200,000")
    ap.add_argument("--no-released", action="store_true", help="skip the (slow) released-code procedure")
    ap.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = ap.parse_args()

    import faiss
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    V = rng.standard_normal((args.n, args.d), dtype=np.float32)
    Z = rng.standard_normal((args.n, args.d), dtype=np.float32)
    sizes = [int(s) for s in args.roofline_n.split(",") if s] + ([200_000] if args.big else [])
    r = {"n": args.n, "d": args.d, "k": args.k, "threads": args.threads, "repeats": args.repeats}
    r.update(whole_process(V, Z, args.k, args.threads, args.repeats))
    with threadpool_limits(args.threads):
        r.update(in_process(V, Z, args.k, args.repeats, not args.no_released))
        del V, Z
        r.update(roofline(sizes, args.d, args.k))
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        _print(r)


if __name__ == "__main__":
    main()
