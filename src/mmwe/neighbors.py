"""K nearest neighbours of every row of a matrix among the other rows (the machinery behind mNNO).

One interface, three interchangeable backends (``BACKENDS``):

* ``"exact"`` (default): blocked float32 search that never holds an N x N matrix (memory O(N*K + block^2)).
  It walks the block pairs (I, J) with I < J once, computes ``S = X_I X_J^T`` with one GEMM and uses it for
  the rows of I *and*, transposed, for the rows of J, so it does about half the multiply-adds of a plain
  query-vs-database search (diagonal blocks are cut smaller, as half of a diagonal square is redundant).
  Each row keeps a running top-K; after the diagonal squares have seeded it, a block is only scanned where
  it can beat the row's current K-th score (max-pooled over groups of ``_POOL`` entries, so the scan is a
  cheap reduction rather than a selection). Ties are broken exactly: lower index first. ``knn_many`` runs
  the searches of several sets side by side. Measured (benchmarks/bench_knn.py, N=30,000, d=300, K=10, two
  sets, 2 cores): ~0.6-0.67x the time of faiss exact search and ~10x faster than the released procedure.
* ``"faiss"``: faiss exact flat index (``IndexFlatIP`` / ``IndexFlatL2`` via ``faiss.knn``). Exact distances,
  but faiss does not promise which of several exactly tied points it returns at the K-th place.
* ``"hnsw"``: faiss ``IndexHNSWFlat`` (M=32, efConstruction=200, efSearch=max(128, 4K)); approximate, for N
  well beyond 10^5 or many cores. Recall depends strongly on the data; ``knn_recall`` measures it (and
  ``mnno_report`` reports it). Measured recall@10 against ``"exact"`` on 1000 sampled rows, 2 cores:
  0.9995 on the first 100,000 GloVe-6B-50d words (hnsw 24 s, exact 18 s) but only 0.68 on 100,000 random
  Gaussian d=300 rows (hnsw 142 s, exact 29 s): unstructured high-dimensional data is the worst case for
  graph search, and at N=10^5 on 2 cores the exact search is faster anyway.

Scores: cosine = dot of unit rows (zero rows stay zero, as in scikit-learn); euclidean = -(squared distance)
computed as ``2 x.y - (|x|^2 + |y|^2)`` on mean-centred data (centring does not change distances and keeps the
norms small, which keeps float32 accurate); dot = raw inner product. The sum ``|x|^2 + |y|^2`` is formed
symmetrically so that exactly duplicated rows get bit-identical scores from every block: exact ties stay ties.

``include_self``: ``False`` (default) lists the K nearest *other* rows. ``True`` counts each row as its own
first neighbour followed by its K-1 nearest other rows: the procedure of Collell & Moens' released code
(scikit-learn ``NearestNeighbors(n_neighbors=K).fit(X).kneighbors(X)``) whenever a row's distance to itself
is its unique minimum, i.e. on rows without exact duplicates (with duplicates scikit-learn's order among the
zero-distance rows is arbitrary).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import numpy as np
import torch

from mmwe.errors import MmweError
from mmwe.threads import thread_limit
from mmwe.validation import check_k, check_matrix

Metric = Literal["cosine", "euclidean", "dot"]
Backend = Literal["exact", "faiss", "hnsw"]
METRICS = ("cosine", "euclidean", "dot")

_POOL = 16  # entries per max-pooled group when scanning a block for candidates (blocks are padded to it)
_IDX_CAP = 2**31 - 1  # row indices must stay below this (2 billion rows)
_NO_INDEX = np.iinfo(np.int64).max  # index of an empty list slot (sorts after every real index)
_SIDE_BY_SIDE_BYTES = 1 << 30  # knn_many runs searches concurrently only while their float32 copies fit in this
_QUERY_BLOCK = 1 << 25  # exact_rows: at most this many scores (128 MB) in one query-vs-all block


@dataclass
class HnswConfig:
    """Parameters of the approximate ``"hnsw"`` backend (faiss ``IndexHNSWFlat``)."""

    m: int = 32  # graph degree: more = better recall, more memory and build time
    ef_construction: int = 200  # candidate list while building the graph
    ef_search: int = 128  # candidate list while searching (raised to 4*K when smaller)


# -- input checks and scoring ----------------------------------------------------------------------------
def check_knn_input(X: np.ndarray, k: int | None, *, name: str = "matrix") -> np.ndarray:
    """Validate a (N, d) matrix of finite reals (for a k-neighbour search when k is given; else N >= 2)."""
    X = check_matrix(X, name=name, dtype=None, min_rows=0 if k is not None else 2, min_cols=0, finite=False)
    if k is not None:
        check_k(k, X.shape[0], name=name)
    return check_matrix(X, name=name, dtype=None, min_rows=0, min_cols=0)  # finite, first bad row 1-based


def _scoring_rows(X: np.ndarray, metric: str, n_rows: int | None = None,
                  chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows as float32 for the GEMM, plus squared norms for euclidean (None otherwise).

    One float32 working copy, filled ``chunk`` rows at a time (no full-size float64 or second float32
    temporary: at N = 10^6 x 300 each of those would be 1.2-2.4 GB). ``n_rows`` >= len(X) pads with zero rows.
    """
    if metric not in METRICS:
        raise MmweError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    n = len(X)
    Y = np.zeros((max(n, n_rows or 0), X.shape[1]), dtype=np.float32)
    sq = np.zeros(len(Y), dtype=np.float32) if metric == "euclidean" else None
    if metric == "euclidean":  # centre on the float64 mean (summed by chunk, without a float64 copy of X)
        mean = sum(np.asarray(X[s:s + chunk], dtype=np.float64).sum(axis=0) for s in range(0, n, chunk)) / n
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        if metric == "euclidean":
            Y[s:e] = (np.asarray(X[s:e], dtype=np.float64) - mean).astype(np.float32)
            sq[s:e] = np.einsum("ij,ij->i", Y[s:e], Y[s:e], dtype=np.float32)
            continue
        Y[s:e] = X[s:e]
        if metric == "cosine":  # float32 throughout: the GEMM is float32 anyway
            norms = np.sqrt(np.einsum("ij,ij->i", Y[s:e], Y[s:e]))[:, None]
            Y[s:e] /= np.where(norms == 0, 1, norms)
    return Y, sq


# -- exact lexicographic selection ------------------------------------------------------------------------
# Small sorts run in numpy: torch's multi-threaded sort of a few 10^4 items is slow when cores are contended.
def _desc_key(s: np.ndarray) -> np.ndarray:
    """int64 key in [0, 2^32) that sorts float32 scores in *descending* order (-0.0 folded into +0.0)."""
    bits = (np.asarray(s, dtype=np.float32) + np.float32(0.0)).view(np.int32).astype(np.int64)
    ordered = np.where(bits >= 0, bits, bits ^ 0x7FFFFFFF)  # monotone in the float value
    return (2**31 - 1) - ordered


def _lex_order(rows: np.ndarray, scores: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Permutation sorting by (row asc, score desc, index asc); empty slots (_NO_INDEX) last in a row."""
    idx_key = np.minimum(idx, _IDX_CAP)  # every real index is below _IDX_CAP
    combo = (_desc_key(scores) << 31) | idx_key  # unique within a row: score then index
    o1 = np.argsort(combo)
    r = rows[o1]
    if len(r) and r.max() < 2**16:
        r = r.astype(np.uint16)  # numpy's stable sort is a radix sort for 16-bit keys
    return o1[np.argsort(r, kind="stable")]


def _topk_rows(S: torch.Tensor, k: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of every row of S (ties -> lower column); column c is global index offset + c.

    torch.topk is fast but picks arbitrarily among ties, so rows whose k-th and (k+1)-th values are equal
    are redone with a stable sort. -inf entries are returned as empty slots (index _NO_INDEX).
    """
    kk = min(k + 1, S.shape[1])
    vals, cols = torch.topk(S, kk, dim=1)  # (R, kk), sorted descending
    if kk > k:
        tied = torch.nonzero(vals[:, k - 1] == vals[:, k]).flatten()
        if len(tied):
            tv, tc = torch.sort(S[tied], dim=1, descending=True, stable=True)
            vals[tied], cols[tied] = tv[:, :kk], tc[:, :kk]
    vals, idx = vals[:, :k].numpy().copy(), cols[:, :k].numpy() + offset
    idx[vals == -np.inf] = _NO_INDEX
    return vals, idx


# -- the blocked exact search ------------------------------------------------------------------------------
class _TopK:
    """Running top-K lists of all rows, merged exactly (score desc, index asc)."""

    def __init__(self, n: int, k: int, n_real: int):
        self.k = k
        self.scores = np.full((n, k), -np.inf, dtype=np.float32)  # (N, K) best scores so far
        self.index = np.full((n, k), _NO_INDEX, dtype=np.int64)  # (N, K) their row indices
        self.n_real = n_real  # rows from n_real on are padding and never take candidates

    def threshold(self, lo: int, hi: int) -> np.ndarray:
        """Current K-th score of rows lo..hi-1 (+inf for padding rows)."""
        thr = self.scores[lo:hi, -1].copy()
        thr[max(self.n_real - lo, 0):] = np.inf
        return thr

    def merge(self, rows: np.ndarray, idx: np.ndarray, scores: np.ndarray) -> None:
        """Fold candidate (row, index, score) triples into the lists."""
        if len(rows) == 0:
            return
        k = self.k
        counts = np.bincount(rows - rows.min())
        touched = np.flatnonzero(counts) + rows.min()  # sorted row ids
        counts = counts[counts > 0] + k
        local = np.repeat(np.arange(len(touched), dtype=np.int32), k)
        inverse = np.searchsorted(touched, rows).astype(np.int32)
        all_r = np.concatenate([local, inverse])
        all_i = np.concatenate([self.index[touched].ravel(), idx])
        all_s = np.concatenate([self.scores[touched].ravel(), scores])
        order = _lex_order(all_r, all_s, all_i)
        starts = np.cumsum(counts) - counts  # first slot of each touched row after sorting
        take = order[(starts[:, None] + np.arange(k)).ravel()]
        self.scores[touched] = all_s[take].reshape(-1, k)
        self.index[touched] = all_i[take].reshape(-1, k)


def _block_scores(Y: np.ndarray, sq: np.ndarray | None, lo_i: int, hi_i: int, lo_j: int, hi_j: int,
                  buf: np.ndarray, n_real: int) -> torch.Tensor:
    """S = scores between rows lo_i..hi_i and lo_j..hi_j, written into buf; padding rows/cols -> -inf."""
    bi, bj = hi_i - lo_i, hi_j - lo_j
    S = buf[: bi * bj].reshape(bi, bj)
    np.matmul(Y[lo_i:hi_i], Y[lo_j:hi_j].T, out=S)  # (bi, bj) float32 GEMM (numpy's BLAS was the faster)
    if sq is not None:  # euclidean: 2*dot - (|x|^2 + |y|^2); the sum is symmetric, so ties stay exact
        S *= 2
        S -= sq[lo_i:hi_i, None] + sq[None, lo_j:hi_j]
    if hi_i > n_real:
        S[max(n_real - lo_i, 0):] = -np.inf
    if hi_j > n_real:
        S[:, max(n_real - lo_j, 0):] = -np.inf
    return torch.from_numpy(S)


def _tighten(thr: np.ndarray, pooled: torch.Tensor, k: int, dim: int) -> np.ndarray:
    """Raise thresholds to the k-th largest group maximum along ``dim`` when there are k groups.

    Only an entry within its block's own top-k can be in the final top-k, and the k largest group maxima
    are k distinct entries, so their minimum is a valid bar: it makes a row's first block cheap to scan.
    """
    if pooled.shape[dim] < k or not np.isneginf(thr).any():  # once lists are full the bar rarely helps
        return thr
    bound = torch.topk(pooled, k, dim=dim, sorted=False).values.amin(dim).numpy()
    return np.maximum(thr, bound)


def _row_candidates(S: torch.Tensor, thr: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local row, local column, score) of the entries of S that can enter their row's top-k.

    Column group g holds the strided columns g, g + bj/P, g + 2 bj/P, ...: pooling them is a vertical max
    of P contiguous vectors, several times faster than reducing P adjacent entries.
    """
    bi, bj = S.shape
    w = bj // _POOL
    pooled_t = S.view(bi, _POOL, w).amax(1)  # (bi, bj/P) group maxima (torch: vectorised, threaded)
    thr = _tighten(thr, pooled_t, k, 1)
    r, g = np.nonzero(pooled_t.numpy() >= thr[:, None])  # the rest is small work: numpy, no thread start-up
    vals = S.numpy().reshape(bi, _POOL, w)[r, :, g]  # (h, P)
    keep = (vals >= thr[r][:, None]) & (vals > -np.inf)
    cols = g[:, None] + np.arange(_POOL) * w
    return np.repeat(r, keep.sum(1)), cols[keep], vals[keep]


def _col_candidates(S: torch.Tensor, thr: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local column, local row, score) of the entries of S that can enter their column's top-k."""
    bi, bj = S.shape
    pooled_t = S.view(bi // _POOL, _POOL, bj).amax(1)  # (bi/P, bj) group maxima
    thr = _tighten(thr, pooled_t, k, 0)
    g, c = np.nonzero(pooled_t.numpy() >= thr[None, :])
    vals = S.numpy().reshape(bi // _POOL, _POOL, bj)[g, :, c]  # (h, P)
    keep = (vals >= thr[c][:, None]) & (vals > -np.inf)
    rows = g[:, None] * _POOL + np.arange(_POOL)
    return np.repeat(c, keep.sum(1)), rows[keep], vals[keep]


def _block_bounds(lo: int, hi: int, block_size: int) -> list[int]:
    """Balanced edges splitting lo..hi into blocks of at most ~block_size, each a multiple of _POOL."""
    nb = max(1, math.ceil((hi - lo) / block_size))
    size = math.ceil((hi - lo) / nb / _POOL) * _POOL
    return list(range(lo, hi, size)) + [hi]


def _tiles(n_pad: int, block_size: int, k: int) -> tuple[list[tuple[int, int]], list[tuple[int, int, int, int]]]:
    """Cover the upper triangle of the N x N score matrix once: diagonal squares + off-diagonal rectangles.

    Block pairs (I, J), I < J, are big rectangles; each diagonal block is cut again into ~4 sub-blocks, since
    a diagonal square wastes half its GEMM (only its upper half is new information).
    """
    edges = _block_bounds(0, n_pad, block_size)
    diag, off = [], []
    for a, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        sub = _block_bounds(lo, hi, max((hi - lo) // 4, _POOL * max(k, 16)))
        diag += list(zip(sub[:-1], sub[1:]))
        off += [(sub[s], sub[s + 1], sub[t], sub[t + 1]) for s in range(len(sub) - 1) for t in range(s + 1, len(sub) - 1)]
        off += [(lo, hi, lo_j, hi_j) for lo_j, hi_j in zip(edges[a + 1:-1], edges[a + 2:])]
    return diag, off


def _seed_diagonal(S: torch.Tensor, lists: "_TopK", lo: int, hi: int, k: int, include_self: bool) -> None:
    """First candidates of rows lo..hi from their own square (symmetric: its rows are all there is)."""
    S.fill_diagonal_(math.inf if include_self else -math.inf)
    if (hi - lo) // _POOL >= k:
        r, c, v = _row_candidates(S, lists.threshold(lo, hi), k)
        lists.merge(r + lo, c + lo, v)
    else:  # too few groups to bound k entries: plain top-k
        lists.scores[lo:hi], lists.index[lo:hi] = _topk_rows(S, k, lo)


def _knn_exact(X: np.ndarray, k: int, metric: str, include_self: bool, block_size: int = 4096,
               progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The blocked symmetric exact search (see the module docstring)."""
    n = len(X)
    n_pad = math.ceil(n / _POOL) * _POOL
    Y, sq = _scoring_rows(X, metric, n_pad)  # (n_pad, d): padding rows are zero, their scores set to -inf
    diag, off = _tiles(n_pad, max(block_size, 4 * (k + 2)), k)
    biggest = max([(hi - lo) ** 2 for lo, hi in diag] + [(b - a) * (d - c) for a, b, c, d in off])
    buf = np.empty(biggest, dtype=np.float32)
    lists = _TopK(n_pad, k, n)
    total = len(diag) + len(off)
    for done, (lo, hi) in enumerate(diag, start=1):  # diagonal squares first: they seed every threshold
        _seed_diagonal(_block_scores(Y, sq, lo, hi, lo, hi, buf, n), lists, lo, hi, k, include_self)
        if progress:
            progress(done, total)
    for done, (lo_i, hi_i, lo_j, hi_j) in enumerate(off, start=len(diag) + 1):
        S = _block_scores(Y, sq, lo_i, hi_i, lo_j, hi_j, buf, n)
        r, c, v = _row_candidates(S, lists.threshold(lo_i, hi_i), k)  # rows of I against columns J
        lists.merge(r + lo_i, c + lo_j, v)
        c, r, v = _col_candidates(S, lists.threshold(lo_j, hi_j), k)  # and, transposed, rows of J
        lists.merge(c + lo_j, r + lo_i, v)
        if progress:
            progress(done, total)
    Y = sq = buf = S = None  # free the working copy first: the final sort's temporaries are ~0.5 GiB at N = 10^6
    return _finish(lists.scores[:n], lists.index[:n])


def _finish(scores: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Sort each row's list by (score desc, index asc) and return the (N, K) int64 indices."""
    n, k = index.shape
    assert bool((index != _NO_INDEX).all()), "a row ended with fewer than K neighbours"
    order = _lex_order(np.repeat(np.arange(n), k), scores.ravel(), index.ravel())
    return index.ravel()[order].reshape(n, k).astype(np.int64)


# -- faiss backends ---------------------------------------------------------------------------------------
def _drop_self(I: np.ndarray, D: np.ndarray, k: int, include_self: bool, larger_is_closer: bool) -> np.ndarray:
    """Turn a faiss result with a spare column into (N, k) lists with self handled and ties by index."""
    n = len(I)
    valid = (I >= 0) & (I != np.arange(n)[:, None])  # faiss pads missing results with -1
    key = np.where(valid, -D if larger_is_closer else D, np.inf)
    order = np.lexsort((I, key), axis=-1)  # per row: (distance, index); invalid entries last
    ranked = np.take_along_axis(I, order, axis=1)
    need = k - 1 if include_self else k
    short = np.flatnonzero(valid.sum(axis=1) < need)
    if len(short):
        raise MmweError(f"the approximate index returned fewer than {k} neighbours for row {short[0] + 1}; "
                        "raise ef_search or use backend='exact'")
    if include_self:
        return np.concatenate([np.arange(n)[:, None], ranked[:, :need]], axis=1).astype(np.int64)
    return ranked[:, :k].astype(np.int64)


def _faiss_metric(metric: str):
    import faiss

    return faiss.METRIC_L2 if metric == "euclidean" else faiss.METRIC_INNER_PRODUCT


def _knn_faiss(X: np.ndarray, k: int, metric: str, include_self: bool, **_) -> np.ndarray:
    import faiss

    Y, _sq = _scoring_rows(X, metric)
    kk = min(k + 1, len(Y))
    D, I = faiss.knn(Y, Y, kk, metric=_faiss_metric(metric))  # (N, k+1) exact, self usually first
    return _drop_self(I, D, k, include_self, metric != "euclidean")


def _knn_hnsw(X: np.ndarray, k: int, metric: str, include_self: bool, hnsw: HnswConfig | None = None,
              **_) -> np.ndarray:
    import faiss

    cfg = hnsw or HnswConfig()
    Y, _sq = _scoring_rows(X, metric)
    index = faiss.IndexHNSWFlat(Y.shape[1], cfg.m, _faiss_metric(metric))
    index.hnsw.efConstruction = cfg.ef_construction
    index.hnsw.efSearch = max(cfg.ef_search, 4 * k)
    index.add(Y)
    D, I = index.search(Y, min(k + 1, len(Y)))  # (N, k+1) approximate
    return _drop_self(I, D, k, include_self, metric != "euclidean")


BACKENDS: dict[str, Callable[..., np.ndarray]] = {"exact": _knn_exact, "faiss": _knn_faiss, "hnsw": _knn_hnsw}


def knn(X: np.ndarray, k: int, *, metric: Metric = "cosine", include_self: bool = False,
        backend: Backend = "exact", block_size: int = 4096, hnsw: HnswConfig | None = None,
        progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(N, k) int64 indices of the k nearest neighbours of every row of X, nearest first, ties -> lower index.

    ``include_self=True`` puts row i itself first (then its k-1 nearest other rows); see the module docstring.
    The exact backend uses ``torch.get_num_threads()`` threads, for its GEMMs (numpy's BLAS) too.
    ``progress(done, total)`` is called after each block pair of the exact backend.
    """
    X = check_knn_input(X, k)
    if backend not in BACKENDS:
        raise MmweError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if backend == "exact":
        with thread_limit(torch.get_num_threads()):
            return _knn_exact(X, k, metric, include_self, block_size, progress)
    _scoring_rows(X[:1], metric)  # validates the metric name before any index is built
    return BACKENDS[backend](X, k, metric, include_self, hnsw=hnsw)


def knn_many(Xs: Sequence[np.ndarray], k: int, **options) -> list[np.ndarray]:
    """``knn`` of several matrices (e.g. the two sides of a pair), run side by side for the exact backend.

    With T = torch.get_num_threads() >= 2, each of the m searches runs in its own thread with T // m
    threads inside: the per-block bookkeeping is single-threaded numpy, so searching the sets concurrently
    keeps every core busy where one multi-threaded search at a time would leave cores idle. Sets whose
    float32 working copies together exceed ``_SIDE_BY_SIDE_BYTES`` are searched one after the other, so
    that only one copy is alive at a time (peak memory: the inputs + one copy + O(N K)).
    """
    budget = torch.get_num_threads()
    copies = sum(4 * np.asarray(X).shape[0] * (np.asarray(X).shape[1] if np.ndim(X) == 2 else 1) for X in Xs)
    if options.get("backend", "exact") != "exact" or budget < 2 or len(Xs) < 2 or copies > _SIDE_BY_SIDE_BYTES:
        return [knn(X, k, **options) for X in Xs]  # one at a time: a single working copy is alive (large N)
    for X in Xs:
        check_knn_input(X, k)  # report bad input before starting threads
    per = max(1, budget // len(Xs))
    with thread_limit(per), ThreadPoolExecutor(max_workers=min(len(Xs), budget)) as pool:
        futures = [pool.submit(_knn_exact, np.asarray(X), k, options.get("metric", "cosine"),
                               options.get("include_self", False), options.get("block_size", 4096))
                   for X in Xs]
        return [f.result() for f in futures]


def exact_rows(X: np.ndarray, rows: np.ndarray, k: int, *, metric: Metric = "cosine",
               include_self: bool = False, chunk: int = 1024) -> np.ndarray:
    """Exact (len(rows), k) neighbour lists of the given rows only (query-vs-all; for recall checks)."""
    Y, sq = _scoring_rows(check_knn_input(X, k), metric)
    chunk = max(1, min(chunk, _QUERY_BLOCK // len(Y)))  # bound the (c, N) block at large N
    out = []
    for start in range(0, len(rows), chunk):
        q = np.asarray(rows[start:start + chunk], dtype=np.int64)
        S = Y[q] @ Y.T  # (c, N), the same BLAS and formula as the blocked search
        if sq is not None:
            S *= 2
            S -= sq[q][:, None] + sq[None, :]
        S[np.arange(len(q)), q] = np.inf if include_self else -np.inf
        out.append(_finish(*_topk_rows(torch.from_numpy(S), k, 0)))
    return np.concatenate(out).astype(np.int64)


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
