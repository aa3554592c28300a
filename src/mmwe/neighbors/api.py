"""The interface: ``knn``, ``knn_many`` (side by side; across processes), ``exact_rows``, ``knn_recall``,
``overlap_counts``, the choice of backend and precision.

Several processes (``knn_many(..., world=)``, ``torchrun ... mmwe mnno``): rank r computes its share of the block
pairs (balanced by multiply-adds), rank 0 gathers every rank's candidate lists and merges them (each pair of rows
is scored by exactly one rank, so a merged list holds the best K + spare entries of the union and the best score
any rank dropped), then orders them exactly (``mmwe.neighbors.scoring``) and sends the final lists to every rank:
the same lists as one process.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mmwe.devices import cpu_flags, distributed_world, resolve_device
from mmwe.errors import MmweError
from mmwe.neighbors.approximate import HnswConfig, _knn_faiss, _knn_hnsw, _knn_sklearn
from mmwe.neighbors.exact import _exact_lists, _exact_order, _knn_exact
from mmwe.neighbors.rescore import _KeyContext, _resolve_rows
from mmwe.neighbors.scoring import (
    _NO_INDEX,
    _ROWS_CELLS,
    PRECISIONS,
    Backend,
    Metric,
    Precision,
    Ties,
    _blas_threads,
    _check_options,
    _margins,
    _scoring_rows,
    _threads,
    check_knn_input,
)
from mmwe.neighbors.torch_backend import _knn_torch, _torch_search
from mmwe.progress import Progress

_SIDE_BY_SIDE_BYTES = 1 << 30  # knn_many runs searches concurrently only while their float32 copies fit in this
_AUTO_BF16_WORK = 7.5e11  # auto: bf16 on an AMX CPU from N^2 d on (the GEMM time saved pays for importing torch)


def backend_on(device: str, backend: str, ties: str = "index") -> str:
    """The backend that runs on ``device`` (auto | cpu | cuda): the exact search goes to the torch backend when
    CUDA is used (auto: when a GPU is there); a clear error for what cannot run there. torch is imported only
    when a GPU may be there (`mmwe.devices.resolve_device(torch_free=True)`): `mmwe mnno` on the CPU stays
    torch-free (~3 s)."""
    resolved = resolve_device(device, torch_free=True)  # an unknown value or cuda without a GPU: one clear error
    if device == "cuda" and (backend in ("faiss", "hnsw") or ties == "sklearn"):
        raise MmweError(f"--device cuda runs the exact search (ties index) on the GPU, got --backend {backend} "
                        f"--ties {ties}, which run on the CPU; fix: drop --device cuda or use --backend exact")
    if resolved == "cuda" and backend == "exact" and ties == "index":
        return "torch"
    return backend


BACKENDS: dict[str, Callable[..., np.ndarray]] = {"exact": _knn_exact, "torch": _knn_torch, "faiss": _knn_faiss,
                                                  "hnsw": _knn_hnsw}


def resolve_precision(precision: str, n: int, d: int, backend: str = "exact") -> str:
    """``auto`` -> ``bf16`` or ``fp32`` for a search of n x d rows (``fp32`` / ``bf16`` are kept as asked).

    auto is bf16 for the torch backend on CUDA; on a CPU with AMX (``amx_bf16``) when torch is already loaded or
    n^2 d >= ``_AUTO_BF16_WORK`` (from issue 21's AMX figures: the bf16 tiles save ~0.83 s of 1.01 s at N = 30k,
    d = 300, importing torch costs ~2.1 s, so bf16 pays from about N = 50k there); float32 elsewhere. On a CPU
    with AVX512-BF16 but no AMX the whole bf16 search measured 0.79-0.88x fp32's speed at N = 30k and 1.01-1.14x at
    100k (d = 300; benchmarks/bench_knn.py, docs/performance.md): not enough to pay for torch's import and memory.
    """
    if precision not in PRECISIONS:
        raise MmweError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision == "bf16" and backend not in ("exact", "torch"):
        raise MmweError(f"precision='bf16' runs the exact or torch backend's GEMMs in bf16, got backend={backend!r}; "
                        "fix: use backend='exact' or precision='auto'")
    if precision != "auto" or backend not in ("exact", "torch"):
        return "fp32" if precision == "auto" else precision
    torch = sys.modules.get("torch")
    if backend == "torch" and torch is not None and torch.cuda.is_available():
        return "bf16"
    if "amx_bf16" in cpu_flags() and (torch is not None or float(n) * n * d >= _AUTO_BF16_WORK):
        return "bf16"
    return "fp32"


def _run(X: np.ndarray, k: int, metric: str, include_self: bool, backend: str, ties: str, block_size: int,
         hnsw: HnswConfig | None, progress: Progress | None, precision: str = "fp32") -> np.ndarray:
    """One search of validated input with the current thread settings (``precision`` resolved)."""
    if ties == "sklearn":
        return _knn_sklearn(X, k, metric, include_self)
    if backend == "exact":
        return _knn_exact(X, k, metric, include_self, block_size, progress, precision)
    if backend == "torch":
        return _knn_torch(X, k, metric, include_self, block_size=block_size, progress=progress, precision=precision)
    return BACKENDS[backend](X, k, metric, include_self, hnsw=hnsw)


def _check_search(backend: str, metric: str, ties: str) -> None:
    if backend not in BACKENDS:
        raise MmweError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    _check_options(metric, ties)
    if ties == "sklearn" and metric not in ("cosine", "euclidean"):
        raise MmweError(f"ties='sklearn' runs scikit-learn's cosine or euclidean search, got metric={metric!r}; "
                        "fix: use ties='index'")
    if ties == "sklearn" and backend != "exact":
        raise MmweError(f"ties='sklearn' runs scikit-learn's exact brute search; it does not combine with "
                        f"backend={backend!r}; fix: use backend='exact'")


def knn(X: np.ndarray, k: int, *, metric: Metric = "cosine", include_self: bool = False,
        backend: Backend = "exact", ties: Ties = "index", block_size: int = 4096, hnsw: HnswConfig | None = None,
        progress: Progress | None = None, precision: Precision = "auto") -> np.ndarray:
    """(N, k) int64 indices of the k nearest neighbours of every row of X, nearest first.

    ``ties="index"``: exact order, ties -> lower index; ``ties="sklearn"``: scikit-learn's brute search (the
    released procedure). ``include_self=True`` counts row i itself (first, for "index"); see the module
    docstring. The exact backend runs its GEMMs on ``_threads()`` threads (``mmwe.threads.thread_limit`` sets
    them); its result does not depend on that number. ``progress(done, total, "neighbour search")`` is called
    after each block pair.
    ``precision`` (exact and torch backends): the candidate GEMMs in ``fp32`` or ``bf16`` (the same lists),
    ``auto`` as ``resolve_precision`` says.
    """
    X = check_knn_input(X, k)
    _check_search(backend, metric, ties)
    precision = resolve_precision(precision, X.shape[0], X.shape[1], "sklearn" if ties == "sklearn" else backend)
    if backend != "exact":
        return _run(X, k, metric, include_self, backend, ties, block_size, hnsw, progress, precision)
    with _blas_threads(_threads(), precision == "bf16" and ties == "index"):
        return _run(X, k, metric, include_self, backend, ties, block_size, hnsw, progress, precision)


def _progress_parts(progress: Progress | None, m: int) -> list:
    """One progress(done, total, what) over m searches, which may report from worker threads."""
    if progress is None:
        return [None] * m
    counts, lock = [[0, 0] for _ in range(m)], threading.Lock()

    def part(i: int) -> Progress:
        def report(done: int, total: int, what: str) -> None:
            with lock:
                counts[i] = [done, total]
                known = [t for _, t in counts if t]
                whole = sum(known) * m // len(known)  # sets not started yet: as big as those started
                progress(sum(d for d, _ in counts), whole, what)
        return report
    return [part(i) for i in range(m)]


def knn_many(Xs: Sequence[np.ndarray], k: int, progress: Progress | None = None,
             world=None, **options) -> list[np.ndarray]:
    """``knn`` of several matrices (e.g. the two sides of a pair), run side by side for the exact backend.

    With T = ``_threads()`` >= 2, each of the m searches runs in its own thread with T // m
    threads inside: the per-block bookkeeping is single-threaded numpy, so searching the sets concurrently
    keeps every core busy where one multi-threaded search at a time would leave cores idle. Sets whose
    float32 working copies together exceed ``_SIDE_BY_SIDE_BYTES`` are searched one after the other, so
    that only one copy is alive at a time (peak memory: the inputs + one copy + O(N K)).

    The lists come back as int32 (N < 2^31 always holds, see ``_IDX_CAP``): the lists already found are kept
    while the next set is searched, so at N = 1M, K = 10 each costs 40 MB instead of 80 MB.
    ``progress(done, total, "neighbour search")`` counts the block pairs of all the exact (or torch) searches
    together.

    ``world`` (``mmwe.lm.ddp.World``: rank, size; every rank calls this with the same arguments): the exact and
    torch searches (ties="index") are split over the ranks (``_spread``); every rank gets the same lists.
    """
    parts = _progress_parts(progress, len(Xs))
    budget = _threads()
    copies = sum(4 * np.asarray(X).shape[0] * (np.asarray(X).shape[1] if np.ndim(X) == 2 else 1) for X in Xs)
    backend, ties = options.get("backend", "exact"), options.get("ties", "index")
    if world is not None and world.size > 1 and backend in ("exact", "torch") and ties == "index":
        return [_spread(X, k, world, progress=part, **options) for X, part in zip(Xs, parts)]
    if backend != "exact" or ties == "sklearn" or budget < 2 or len(Xs) < 2 or copies > _SIDE_BY_SIDE_BYTES:
        return [knn(X, k, progress=part, **options).astype(np.int32)  # one at a time: one working copy alive
                for X, part in zip(Xs, parts)]
    Xs = [check_knn_input(X, k) for X in Xs]  # report bad input before starting threads
    metric = options.get("metric", "cosine")
    _check_search(backend, metric, ties)
    precisions = [resolve_precision(options.get("precision", "auto"), *X.shape, backend) for X in Xs]  # exact
    args = (k, metric, options.get("include_self", False), backend, ties, options.get("block_size", 4096), None)
    per = max(1, budget // len(Xs))
    with _blas_threads(per, "bf16" in precisions), ThreadPoolExecutor(max_workers=min(len(Xs), budget)) as pool:
        futures = [pool.submit(_run, X, *args, part, prec) for X, part, prec in zip(Xs, parts, precisions)]
        return [f.result().astype(np.int32) for f in futures]


def torchrun_ranks(backend: str = "exact", ties: str = "index") -> int:
    """How many ranks ``torchrun`` started (``mmwe.devices.distributed_world``; 1 when alone), without importing
    torch; an error when the search asked for cannot be split over them. With more than one, join with
    ``mmwe.lm.ddp.init_from_env(torch.device("cpu"))`` (gloo: the lists travel on the CPU) and pass the World to
    ``knn_many(..., world=)``."""
    ranks = distributed_world().size
    if ranks > 1 and (backend not in ("exact", "torch") or ties != "index"):
        raise MmweError(f"torchrun splits the exact search (backend exact or torch, ties index) over its ranks, got "
                        f"backend {backend}, ties {ties}; fix: run it as one process")
    return ranks


def _spread(X: np.ndarray, k: int, world, *, metric: Metric = "cosine", include_self: bool = False,
            backend: Backend = "exact", block_size: int = 4096, precision: Precision = "auto",
            progress: Progress | None = None, **_) -> np.ndarray:
    """One exact search split over the ranks of ``world`` (module docstring); (N, k) int32 on every rank.

    Rank r searches its share of the block pairs (exact) or query blocks (torch); rank 0 gathers the candidate
    lists (torch.distributed: gloo on the CPU), merges and orders them, and broadcasts the final lists.
    """
    import torch
    import torch.distributed as dist

    X = check_knn_input(X, k)
    _check_search(backend, metric, "index")
    precision = resolve_precision(precision, X.shape[0], X.shape[1], backend)
    share = (world.rank, world.size)
    with _blas_threads(_threads(), precision == "bf16"):
        if backend == "exact":
            Y, sq, lists = _exact_lists(X, k, metric, include_self, block_size, progress, precision, share)
        else:  # each rank on its own GPU when there are GPUs
            device = distributed_world().cuda_device() if resolve_device("auto") == "cuda" else "cpu"
            Y, sq, lists = _torch_search(X, k, metric, include_self, block_size, progress, precision, share, device)
        parts = [torch.from_numpy(a) for a in (lists.scores, lists.index, lists.runner)]
        if world.rank == 0:
            got = [[torch.empty_like(t) for _ in range(world.size)] for t in parts]
            for t, into in zip(parts, got):
                dist.gather(t, into, dst=0)
            n_pad, size = lists.scores.shape
            for r in range(1, world.size):
                s, i, runner = (g[r].numpy() for g in got)
                rows, slots = np.nonzero(i != _NO_INDEX)
                lists.merge(rows, i[rows, slots], s[rows, slots])
                np.maximum(lists.runner, runner, out=lists.runner)
            got = None
            out = torch.from_numpy(_exact_order(X, Y, sq, lists, k, metric, include_self, block_size,
                                                precision).astype(np.int32))
        else:
            for t in parts:
                dist.gather(t, dst=0)
            out = torch.empty((len(X), k), dtype=torch.int32)
    lists = Y = None
    dist.broadcast(out, src=0)
    return out.numpy()


def exact_rows(X: np.ndarray, rows: np.ndarray, k: int, *, metric: Metric = "cosine",
               include_self: bool = False, chunk: int = 1024) -> np.ndarray:
    """Exact (len(rows), k) neighbour lists of the given rows only (query-vs-all; for recall checks).

    The same result as the rows of ``knn(X, k)`` (ties -> lower index), at most ``chunk`` rows at a time.
    """
    X = check_knn_input(X, k)
    _check_options(metric, "index")
    Y, sq = _scoring_rows(X, metric)
    margin = _margins(Y, sq, metric, len(X))
    rows = np.asarray(rows, dtype=np.int64)
    cells = min(max(1, chunk), max(1, _ROWS_CELLS // len(X))) * len(X)  # bound the (c, N) block at large N
    return _resolve_rows(_KeyContext(X, metric), Y, sq, rows, k, include_self, margin, cells)


def knn_recall(X: np.ndarray, approx: np.ndarray, *, metric: Metric = "cosine", include_self: bool = False,
               sample: int = 1000, seed: int = 0) -> float:
    """Recall@K of approximate lists ``approx`` (N, K) against exact search on ``sample`` random rows."""
    n, k = approx.shape
    rows = np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False)
    exact = exact_rows(X, rows, k, metric=metric, include_self=include_self)
    return float(overlap_counts(approx[rows], exact).sum() / (len(rows) * k))


def overlap_counts(A: np.ndarray, B: np.ndarray, *, chunk: int = 65536) -> np.ndarray:
    """|A[i] ∩ B[i]| for each row of two (N, K) index arrays whose rows hold distinct entries."""
    out = np.empty(len(A), dtype=np.int64)
    for s in range(0, len(A), chunk):
        a, b = A[s:s + chunk], B[s:s + chunk]
        out[s:s + chunk] = (a[:, :, None] == b[:, None, :]).sum(axis=(1, 2))  # (c, K, K) compares
    return out
