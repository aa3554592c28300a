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
3. Exact kNN of one set, side by side at N = 30k and 100k (and 200k with --big): ``knn(X, k, precision="fp32")``,
   ``knn(X, k, precision="bf16")`` (the same lists, checked) and faiss's exact ``faiss.knn`` (normalised rows, K + 1,
   self dropped), each against two rooflines measured in the same run on the search's block shape (4096 x d times
   d x 4096): the float32 GEMM rate of ``torch.mm`` (numpy's BLAS shown beside it) and the bf16 rate of ``torch.mm``
   on bf16 tensors (oneDNN; bf16 out). roofline = N^2 d flops (the N^2/2 pairs of one symmetric pass, 2d flops
   each) / rate. The bf16 row also shows its candidates per row (entries within the bf16 margin of the K-th
   score in the lists, K included) and the rows searched again. Target: kNN / roofline <= 2.

    .venv/bin/python benchmarks/bench_knn.py [--n 30000] [--d 300] [--k 10] [--threads T] [--repeats 2]
        [--roofline-n 30000,100000] [--big] [--no-released] [--no-processes] [--json]
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
    """GEMM rates (flop/s, best of ``repeats``) on (4096, d) x (d, 4096): float32 torch.mm and numpy's BLAS, bf16
    torch.mm (bf16 out) and bf16 torch.mm plus the widening copy into a float32 block (what the bf16 search does)."""
    import torch

    X = np.random.default_rng(2).standard_normal((8192, d), dtype=np.float32)
    T = torch.from_numpy(X)
    Tb = T.to(torch.bfloat16)
    out = np.empty((4096, 4096), dtype=np.float32)
    tout = torch.from_numpy(out)
    bout = torch.empty((4096, 4096), dtype=torch.bfloat16)
    flops = 2 * 4096 * 4096 * d
    fns = {"torch": lambda: torch.mm(T[:4096], T[4096:].T, out=tout),
           "numpy": lambda: np.matmul(X[:4096], X[4096:].T, out=out),
           "bf16": lambda: torch.mm(Tb[:4096], Tb[4096:].T, out=bout),
           "bf16_widened": lambda: tout.copy_(torch.mm(Tb[:4096], Tb[4096:].T, out=bout))}
    best = {name: float("inf") for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):  # interleaved
        for name, fn in fns.items():
            best[name] = min(best[name], _timed(fn)[0])
    return {name: flops / t for name, t in best.items()}


def _counting_candidates(stats: dict):
    """Wrap the bf16 -> float32 re-score step to record the bf16 lists' candidates per row (benchmark only)."""
    from mmwe.neighbors import exact as nb  # the exact search calls both through this module

    inner = nb._rescore32

    def rescore(lists, Y, sq, n, margin32, chunk=1024):
        s = lists.scores[:n].astype(np.float64)
        kth = s[:, lists.k - 1]
        stats["candidates_per_row"] = float((s >= (kth - lists.margin[:n])[:, None]).sum(axis=1).mean())
        stats["list_size"] = int(s.shape[1])
        return inner(lists, Y, sq, n, margin32, chunk)

    nb._rescore32 = rescore
    resolve = nb._resolve_rows

    def resolve_rows(ctx, Y, sq, rows, *args):
        stats["searched_again"] = stats.get("searched_again", 0) + len(rows)
        return resolve(ctx, Y, sq, rows, *args)

    nb._resolve_rows = resolve_rows


def faiss_knn(X: np.ndarray, k: int) -> np.ndarray:
    import faiss

    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    return faiss.knn(Xn, Xn, k + 1, metric=faiss.METRIC_INNER_PRODUCT)[1][:, 1:]


def roofline(sizes: list[int], d: int, k: int) -> dict:
    from mmwe.neighbors import knn

    rates = gemm_rates(d)
    rows = []
    for n in sizes:
        X = np.random.default_rng(n).standard_normal((n, d), dtype=np.float32)
        work = float(n) * n * d  # one symmetric pass: N^2/2 pairs x 2d flops
        row: dict = {"n": n, "roofline_fp32_s": work / rates["torch"], "roofline_bf16_s": work / rates["bf16"],
                     "roofline_numpy_s": work / rates["numpy"]}
        stats: dict = {}
        _counting_candidates(stats)
        lists = {}
        for name, fn in (("fp32", lambda X=X: knn(X, k, precision="fp32")),
                         ("bf16", lambda X=X: knn(X, k, precision="bf16")), ("faiss", lambda X=X: faiss_knn(X, k))):
            wall, cpu, lists[name] = _timed(fn)
            row.update({f"{name}_s": wall, f"{name}_cpu_s": cpu, f"{name}_over_fp32_roofline": wall / row[
                "roofline_fp32_s"], f"{name}_over_bf16_roofline": wall / row["roofline_bf16_s"]})
        row["bf16_same_lists"] = bool(np.array_equal(lists["fp32"], lists["bf16"]))
        row["bf16_speedup"] = row["fp32_s"] / row["bf16_s"]
        row.update({f"bf16_{key}": v for key, v in stats.items()})
        rows.append(row)
        del X, lists
    return {**{f"gemm_{name}_gflops": r / 1e9 for name, r in rates.items()}, "roofline": rows}


def _print_processes(r: dict) -> None:
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


def _print(r: dict) -> None:
    print(f"mNNO@{r['k']} cosine, two random sets of {r['n']} x {r['d']}, {r['threads']} threads, best of "
          f"{r['repeats']} (interleaved)")
    if "proc_mmwe_s" in r:
        _print_processes(r)
    print(f"\nexact kNN of one set (K = {r['k']}, d = {r['d']}, cosine) side by side; GEMM rates on 4096 x d x 4096: "
          f"float32 torch.mm {r['gemm_torch_gflops']:.1f} GFLOP/s (numpy's BLAS {r['gemm_numpy_gflops']:.1f}), "
          f"bf16 torch.mm {r['gemm_bf16_gflops']:.1f} GFLOP/s ({r['gemm_bf16_widened_gflops']:.1f} with the widening "
          f"to float32)")
    print(f"{'N':>8} {'path':<12} {'wall s':>8} {'CPU s':>8} {'/ fp32 roofline':>16} {'/ bf16 roofline':>16}")
    for row in r["roofline"]:
        print(f"{row['n']:>8} {'rooflines':<12} {'':>8} {'':>8} {row['roofline_fp32_s']:>15.2f}s "
              f"{row['roofline_bf16_s']:>15.2f}s")
        for name, label in (("fp32", "exact fp32"), ("bf16", "exact bf16"), ("faiss", "faiss.knn")):
            print(f"{row['n']:>8} {label:<12} {row[name + '_s']:>8.2f} {row[name + '_cpu_s']:>8.2f} "
                  f"{row[name + '_over_fp32_roofline']:>16.2f} {row[name + '_over_bf16_roofline']:>16.2f}")
        print(f"{'':>8} bf16 / fp32 speed-up {row['bf16_speedup']:.2f}x, same lists: {row['bf16_same_lists']}; bf16 "
              f"candidates per row {row.get('bf16_candidates_per_row', float('nan')):.1f} (list size "
              f"{row.get('bf16_list_size', 0)}), rows searched again {row.get('bf16_searched_again', 0)}")
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
    ap.add_argument("--no-processes", action="store_true", help="table 3 only (skip tables 1 and 2)")
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
    if not args.no_processes:
        r.update(whole_process(V, Z, args.k, args.threads, args.repeats))
    with threadpool_limits(args.threads):
        if not args.no_processes:
            r.update(in_process(V, Z, args.k, args.repeats, not args.no_released))
        del V, Z
        r.update(roofline(sizes, args.d, args.k))
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        _print(r)


if __name__ == "__main__":
    main()
