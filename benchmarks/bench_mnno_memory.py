"""Peak resident memory and time of mNNO on two large paired random sets (default N = 1,000,000 x 300).

What runs: V and Z are float32 standard-normal (N, d) matrices, generated in place in chunks (no float64
temporary); then the two neighbour searches of ``mmwe.metrics.overlap.mnno`` run one after the other through
``mmwe.neighbors.knn`` (what ``knn_many`` does for inputs this size) and ``overlap_score`` gives mNNO. With
``--memmap DIR`` the inputs live in ``.npy`` files opened read-only with ``mmap_mode="r"`` (their pages then
count towards the resident set only once they are read, as file-backed pages).

How memory is measured: the kernel's high-water mark of the resident set, ``VmHWM`` in /proc/self/status
(anonymous + file-backed + shared pages; the same figure as ``ru_maxrss``), read at the start, after the
inputs exist, every ``--every`` seconds during the search and at the end. It is a measurement, printed,
never asserted. The exact search's memory is flat after its set-up (inputs + one float32 working copy +
one GEMM block + the (N, K) lists), so a run stopped by ``--max-seconds`` still reports the true peak of
set-up and of the part searched; the time of a full run is then extrapolated from the fraction done.

With ``--cli DIR`` it times what the user runs instead: V and Z are written to ``DIR/V.npy`` and ``DIR/Z.npy``,
then the whole command ``mmwe mnno DIR/V.npy DIR/Z.npy --k K --json`` runs as a child process (start-up, imports,
reading the files and both searches included); its wall time and its own peak RSS (``ru_maxrss`` of the
child, from ``wait4``) are printed with the command's mNNO. No ``--max-seconds`` there: the command runs whole.

    .venv/bin/python benchmarks/bench_mnno_memory.py [--n 1000000] [--d 300] [--k 10] [--backend exact]
        [--precision auto] [--threads 2] [--memmap DIR] [--max-seconds S] [--every 60] [--json]
    .venv/bin/python benchmarks/bench_mnno_memory.py --cli DIR [--n 1000000] [--d 300] [--k 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

GIB = 1 << 30


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_gib() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in GiB, from /proc/self/status (VmRSS, VmHWM)."""
    return _status_kib("VmRSS") / (1 << 20), _status_kib("VmHWM") / (1 << 20)


def random_matrix(n: int, d: int, seed: int, path: Path | None, chunk: int = 1 << 16) -> np.ndarray:
    """(n, d) float32 N(0, 1), filled chunk by chunk (in RAM, or in a .npy then reopened as a read-only memmap)."""
    rng = np.random.default_rng(seed)
    if path is None:
        X = np.empty((n, d), dtype=np.float32)
    else:
        X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for s in range(0, n, chunk):
        X[s:s + chunk] = rng.standard_normal((min(chunk, n - s), d), dtype=np.float32)
    if path is None:
        return X
    X.flush()
    del X
    return np.load(path, mmap_mode="r")


class _Budget(Exception):
    pass


def run_cli(args: argparse.Namespace) -> dict:
    """Write V and Z as .npy under args.cli, then time the whole ``mmwe mnno`` command and read its peak RSS."""
    import subprocess

    folder = Path(args.cli)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for name, seed in (("V", 1), ("Z", 2)):
        random_matrix(args.n, args.d, seed, folder / f"{name}.npy")  # written to disk; the memmap is dropped
    t_gen = time.perf_counter() - t0
    mmwe = Path(sys.executable).with_name("mmwe")
    cmd = [str(mmwe), "mnno", str(folder / "V.npy"), str(folder / "Z.npy"), "--k", str(args.k), "--json",
           "--precision", args.precision]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads),
           "OPENBLAS_NUM_THREADS": str(args.threads)}
    print("running: " + " ".join(cmd), file=sys.stderr, flush=True)
    t1 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t1
    out = proc.stdout.read()
    proc.stdout.close()
    code = os.waitstatus_to_exitcode(status)
    result = {"n": args.n, "d": args.d, "k": args.k, "threads": args.threads, "command": " ".join(cmd),
              "exit": code, "wall_seconds": round(wall, 1), "generate_seconds": round(t_gen, 1),
              "peak_rss_gib": round(usage.ru_maxrss / (1 << 20), 3), "peak_rss_kib": usage.ru_maxrss,
              "input_gib": round(2 * args.n * args.d * 4 / GIB, 3)}
    if code == 0:
        report = json.loads(out)
        result.update(mnno=report["mnno"], chance=report["chance"])
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=300)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--backend", default="exact", choices=["exact", "faiss", "hnsw"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                    help="the exact search's candidate GEMMs (bf16 adds a bf16 copy of each set: N d 2 bytes)")
    ap.add_argument("--memmap", default=None, help="folder for the two input .npy files (read as memmaps)")
    ap.add_argument("--max-seconds", type=float, default=None, help="stop the exact search after this long")
    ap.add_argument("--every", type=float, default=60.0, help="seconds between progress lines")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cli", default=None, metavar="DIR",
                    help="time the whole `mmwe mnno` command on inputs written to DIR (see the docstring)")
    args = ap.parse_args(argv)
    if args.cli:
        return _show(run_cli(args), args.json)

    from threadpoolctl import threadpool_limits  # the exact search's only pools: BLAS (+ OpenMP for faiss)

    threadpool_limits(args.threads)  # no torch import: `mmwe mnno` does not load it either (130 MB of RSS)
    from mmwe.metrics.overlap import chance_overlap, overlap_score
    from mmwe.neighbors import knn

    t0 = time.perf_counter()
    base = rss_gib()[1]
    folder = Path(args.memmap) if args.memmap else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    V = random_matrix(args.n, args.d, 1, folder / "V.npy" if folder else None)
    Z = random_matrix(args.n, args.d, 2, folder / "Z.npy" if folder else None)
    after_inputs = rss_gib()[1]
    t_gen = time.perf_counter() - t0
    state = {"set": 0, "last": time.perf_counter(), "fraction": 0.0}
    t_search = time.perf_counter()

    def progress(done: int, total: int, what: str) -> None:
        state["fraction"] = (state["set"] + done / total) / 2
        now = time.perf_counter()
        if now - state["last"] >= args.every:
            state["last"] = now
            cur, peak = rss_gib()
            print(f"  {now - t_search:8.0f} s  {100 * state['fraction']:5.1f}% of the search  rss {cur:.2f} GiB  "
                  f"peak {peak:.2f} GiB", file=sys.stderr, flush=True)
        if args.max_seconds is not None and now - t_search > args.max_seconds:
            raise _Budget

    lists, complete = [], True
    try:
        for i, X in enumerate((V, Z)):
            state["set"] = i
            if args.backend == "exact":
                lists.append(knn(X, args.k, backend="exact", progress=progress, precision=args.precision))
            else:
                lists.append(knn(X, args.k, backend=args.backend))
    except _Budget:
        complete = False
    seconds = time.perf_counter() - t_search
    result = {
        "n": args.n, "d": args.d, "k": args.k, "backend": args.backend, "threads": args.threads,
        "precision": args.precision,
        "inputs": "memmap" if folder else "ram", "input_gib": round(2 * args.n * args.d * 4 / GIB, 3),
        "complete": complete, "fraction_searched": 1.0 if complete else round(state["fraction"], 4),
        "search_seconds": round(seconds, 1), "generate_seconds": round(t_gen, 1),
        "peak_rss_gib": round(rss_gib()[1], 3), "rss_after_imports_gib": round(base, 3),
        "rss_after_inputs_gib": round(after_inputs, 3),
    }
    if complete:
        result["mnno"] = overlap_score(*lists)
        result["chance"] = chance_overlap(args.n, args.k)
    elif state["fraction"] > 0:
        result["estimated_full_seconds"] = round(seconds / state["fraction"])
    return _show(result, args.json)


def _show(result: dict, as_json: bool) -> dict:
    """Print the result (one JSON line, or aligned key: value lines) and return it."""
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    return result


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()
