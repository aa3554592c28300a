"""The ``"torch"`` backend: the exact search with its GEMMs in torch (CUDA when a GPU is there, else the CPU),
query blocks against all rows, then the exact backend's order; and ``knn_graph``, the float32 torch.topk K-NN
graph of the ``graph`` map loss.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np

from mmwe.devices import resolve_device
from mmwe.neighbors.exact import _exact_order, _TopK
from mmwe.neighbors.scoring import _NO_INDEX, _POOL, _SPARE, _SPARE_BF16, SEARCH, _bf16_rel, _margins, _scoring_rows
from mmwe.progress import Progress


@contextlib.contextmanager
def _full_sums(torch) -> Iterator[None]:
    """Full float32 matmuls and float32 sums of bf16 products (TF32 and cuBLAS's reduced-precision bf16
    reductions would break the error bounds of ``_margins``)."""
    cuda = torch.backends.cuda.matmul
    old = cuda.allow_tf32, cuda.allow_bf16_reduced_precision_reduction
    cuda.allow_tf32 = cuda.allow_bf16_reduced_precision_reduction = False
    try:
        yield
    finally:
        cuda.allow_tf32, cuda.allow_bf16_reduced_precision_reduction = old


def _torch_lists(Y: np.ndarray, sq: np.ndarray | None, k: int, include_self: bool, margin: np.ndarray, device,
                 block_size: int, progress: Progress | None, precision: str = "fp32",
                 share: tuple[int, int] = (0, 1), rel: float = 0.0) -> _TopK:
    """Candidate lists (as ``_candidate_lists`` makes them) from a blocked query-vs-all search in torch (the
    query blocks ``share`` = (rank, world) gives this rank: every world-th one)."""
    import torch

    n = len(Y)
    spare = _SPARE_BF16 if precision == "bf16" else _SPARE
    size = k + spare
    lists = _TopK(n, k, spare, n, margin, rel)
    qb, cb = max(_POOL, block_size), max(_POOL, 8 * block_size)  # (qb, cb) float32 scores on the device
    inf = float("inf")
    with torch.no_grad(), _full_sums(torch):
        Yd = torch.from_numpy(Y).to(device)  # (N, d)
        if precision == "bf16":
            Yd = Yd.to(torch.bfloat16)  # rounded to nearest even
        sqd = None if sq is None else torch.from_numpy(sq).to(device)  # (N,)
        blocks = range(0, n, qb)[share[0]::share[1]]
        for done, lo in enumerate(blocks, start=1):
            hi = min(lo + qb, n)
            best = torch.full((hi - lo, size), -inf, device=device)  # (b, K+spare) scores, descending
            best_i = torch.full((hi - lo, size), -1, dtype=torch.long, device=device)
            runner = torch.full((hi - lo,), -inf, device=device)  # best score dropped so far
            for clo in range(0, n, cb):
                chi = min(clo + cb, n)
                S = (Yd[lo:hi] @ Yd[clo:chi].T).float()  # (b, c) float32 (or bf16, widened) GEMM
                if sqd is not None:  # euclidean, the exact backend's formula: 2*dot - (|x|^2 + |y|^2)
                    S = S * 2 - (sqd[lo:hi, None] + sqd[None, clo:chi])
                if max(lo, clo) < min(hi, chi):  # the block holds some rows' own entries
                    diag = torch.arange(max(lo, clo), min(hi, chi), device=device)
                    S[diag - lo, diag - clo] = inf if include_self else -inf
                t = min(size + 1, chi - clo)
                top, pos = torch.topk(S, t, dim=1)  # (b, t) the block's best, descending
                merged = torch.cat([best, top], dim=1)
                merged_i = torch.cat([best_i, pos + clo], dim=1)
                top, pos = torch.topk(merged, size + 1, dim=1)  # (b, K+spare+1)
                runner = torch.maximum(runner, top[:, size])  # the best entry that falls off the list
                best, best_i = top[:, :size], merged_i.gather(1, pos[:, :size])
            s, i = best.cpu().numpy(), best_i.cpu().numpy()
            lists.scores[lo:hi] = s
            lists.index[lo:hi] = np.where(np.isneginf(s) | (i < 0), _NO_INDEX, i)
            lists.runner[lo:hi] = runner.cpu().numpy()
            if progress:
                progress(done, len(blocks), SEARCH)
    return lists


def _torch_search(X: np.ndarray, k: int, metric: str, include_self: bool, block_size: int,
                  progress: Progress | None, precision: str, share: tuple[int, int] = (0, 1),
                  device=None) -> tuple[np.ndarray, np.ndarray | None, _TopK]:
    """(Y, sq, candidate lists) of the torch backend (``device``: default CUDA when available, else CPU)."""
    import torch

    device = torch.device(device or resolve_device("auto"))
    Y, sq = _scoring_rows(X, metric)  # (N, d) float32 (+ squared norms for euclidean)
    margin, rel = _margins(Y, sq, metric, len(X), precision), _bf16_rel(metric, precision)
    return Y, sq, _torch_lists(Y, sq, k, include_self, margin, device, block_size, progress, precision, share, rel)


def _knn_torch(X: np.ndarray, k: int, metric: str, include_self: bool, device=None, block_size: int = 4096,
               progress: Progress | None = None, precision: str = "fp32", **_) -> np.ndarray:
    """The ``"torch"`` backend: candidate lists from torch GEMMs, then the exact backend's float64 ordering and
    re-search of unresolved ties (on the CPU)."""
    Y, sq, lists = _torch_search(X, k, metric, include_self, block_size, progress, precision, device=device)
    return _exact_order(X, Y, sq, lists, k, metric, include_self, block_size, precision)


def knn_graph(Y, k: int, *, block: int = 1024):
    """(N, min(k, N-1)) int64 tensor on Y's device: the cosine K nearest *other* rows of every row of the torch
    tensor Y, nearest first, searched where Y lives in blocks of rows (memory O(block * N)); the K-NN graph of the
    ``graph`` map loss (``mmwe.maps``).

    The float32 scores of ``F.normalize(Y)`` ordered by ``torch.topk``: the lists of ``knn(Y, k)`` (ties="index")
    except where scores tie exactly or to float32 rounding, which torch.topk orders its own way. On IAPR TC-12
    (text biGRU, K = 10) 128 of 1962 rows differ from ``knn`` in order, 12 in their set, all among duplicated
    rows or float32 near-ties; the graph loss draws neighbours by position, so this order is kept (the map
    training results stay those of earlier versions).
    """
    import torch
    import torch.nn.functional as F

    n = Y.shape[0]
    k = min(int(k), n - 1)
    Yn = F.normalize(Y.to(torch.float32), dim=1, eps=1e-8)  # (N, d)
    out = torch.empty((n, max(k, 0)), dtype=torch.int64, device=Y.device)
    if k < 1:
        return out
    with torch.no_grad():
        for s in range(0, n, block):
            S = Yn[s:s + block] @ Yn.T  # (b, N)
            diag = torch.arange(S.shape[0], device=Y.device)
            S[diag, diag + s] = -math.inf  # not its own neighbour
            out[s:s + block] = S.topk(k, dim=1).indices
    return out
