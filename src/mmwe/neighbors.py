"""K nearest neighbours of every row of a matrix among the other rows (the machinery behind mNNO).

One interface, four interchangeable backends (``BACKENDS``):

* ``"exact"`` (default): blocked search that never holds an N x N matrix (memory O(N*K + block^2)), with
  exact tie handling (below). It walks the block pairs (I, J) with I < J once, computes ``S = X_I X_J^T``
  with one float32 GEMM and uses it for the rows of I *and*, transposed, for the rows of J, so it does about
  half the multiply-adds of a plain query-vs-database search (diagonal blocks are cut smaller, as half of a
  diagonal square is redundant). Each row keeps a running list; after the diagonal squares have seeded it, a
  block is only scanned where it can reach the row's current K-th score (max-pooled over groups of
  ``_POOL`` entries, so the scan is a cheap reduction rather than a selection). ``knn_many`` runs the
  searches of several sets side by side. Timings: benchmarks/README.md.
* ``"torch"``: the exact search with its float32 GEMMs in torch, on CUDA when a GPU is there (else on the CPU):
  blocks of query rows against blocks of all rows, running lists of the K + ``_SPARE`` best float32 scores and
  the best dropped score kept on the device. The lists then go through the exact backend's own float64
  ordering (``_order_lists``, ``_resolve_rows``): same tie rule, same self handling, the same result. TF32 is
  off during the search (the error bound of ``_margins`` is a float32 one).
* ``"faiss"``: faiss exact flat index (``IndexFlatIP`` / ``IndexFlatL2`` via ``faiss.knn``). Exact distances,
  but faiss does not promise which of several exactly tied points it returns at the K-th place.
* ``"hnsw"``: faiss ``IndexHNSWFlat`` (M=32, efConstruction=200, efSearch=max(128, 4K)); approximate, for N
  well beyond 10^5. Recall depends strongly on the data: ``knn_recall`` measures it (and ``mnno_report``
  reports it); measured figures are in benchmarks/README.md.

Scores: cosine = x.y / (|x| |y|) (zero rows score 0 with everything, as in scikit-learn); euclidean =
-(squared distance); dot = raw inner product. Nearest first; ``ties="index"`` (default) breaks exact ties by
the lower row index.

Exactness (``ties="index"``). A float32 GEMM rounds: two exactly equal scores (duplicated rows, integer or 0/1
data) can come out different, and which one wins would depend on the BLAS blocking, i.e. on the thread count.
So the float32 scores only *select candidates*; the order is decided by a float64 re-score:

1. The float32 error of every score is bounded a priori: |s32 - s| <= delta_i (``_margins``: the worst-case
   GEMM bound (2d + 16) * 2^-24, scaled by the norms for euclidean / dot).
2. Each row's list keeps K + ``_SPARE`` entries, is fed with every entry that comes within 2 delta_i of the
   row's K-th score, and remembers the best score it ever dropped (``runner``). If that runner-up is more than
   2 delta_i below the final K-th score, the true top K are provably inside the list; otherwise (a large tie
   group at the K-th place) the row is searched again against all rows and every candidate within the margin
   is kept (``_resolve_rows``, O(block^2) memory per chunk of rows).
3. Candidates whose float32 scores lie within 2 delta_i of each other are re-scored in float64
   (``_KeyContext.keys``) and ordered by (float64 score desc, index asc). The float64 score is a fixed-order
   sum, a function of the two rows' values alone: duplicated rows get bit-identical scores, and it is exact
   whenever the sums are exactly representable (integer data with |x|^2 d < 2^26, 0/1 data): exact ties stay
   ties and the lower-index rule applies to them exactly. Cosine is compared as sign(x.y) (x.y)^2 / (|x|^2 |y|^2),
   which is exact on integer data (equal cosines give equal keys; no square root).

The results do not depend on the thread count or the block size. Where the float64 sums round (general
float data), scores closer than ~d 2^-53 are ordered by that fixed rounding, not by exact arithmetic.

bf16 candidates (``precision="bf16"``), still exact. The candidate GEMMs may run on bf16 matrix units (torch,
oneDNN on the CPU: AMX or AVX512-BF16; cuBLAS on CUDA); only step 1's bound changes, steps 2-3 are the same code,
so the lists are identical to the float32 path's. Let y be the float32 working rows (the rows the float32 GEMM
multiplies; step 1's bound covers how far y.y' is from the exact score), u = 2^-9 the unit roundoff of bf16:

* inputs: each y_k is rounded to nearest bf16 (torch's conversion rounds to nearest even): y^_k = y_k (1 + e_k),
  |e_k| <= u, so |y^.x^ - y.x| <= sum |y_k x_k| ((1 + u)^2 - 1) <= (2u + u^2) |y| |x| (Cauchy-Schwarz);
* products: two 8-bit significands multiply exactly into a float32 (16 <= 24 bits);
* accumulation in float32 (oneDNN / cuBLAS with float32 compute; on CUDA reduced-precision reductions are turned
  off for the search), any order, any split: at most gamma_d = d 2^-24 / (1 - d 2^-24) times sum |y^_k x^_k|
  <= gamma_d (1 + u)^2 |y| |x|;
* output: torch returns bf16 from a bf16 matmul on the CPU (no float32-output variant there), one more rounding
  to nearest: u |s^| <= u (1 + gamma_d)(1 + u)^2 |y| |x|;
* flushes: bf16 units treat subnormal inputs and results as zero: at most 2^-126 per input (times the other
  operand's max |y_k|), per product, per partial sum and on the output: (2d max|y_k| + 2d + 4) 2^-126.

So |s_bf16 - s| <= delta_fp32 + 1.25 (2u + u^2 + gamma_d (1 + u)^2 + u (1 + gamma_d)(1 + u)^2) |y| |x| + flushes
(``_margins(..., "bf16")``; 0.0074 |y||x| at d = 300, 160x the float32 margin): the same |y| |x| factor as step 1
(1 for cosine, |x|^2 + max |y|^2 for euclidean, where the dot is doubled, |x| max|y| for dot). A wider margin
means more candidates per row, so the bf16 lists keep K + ``_SPARE_BF16`` slots; rows whose runner-up still comes
within the margin are searched again in float32 (``_resolve_rows``, with the float32 margin). ``precision="auto"``
(``resolve_precision``) picks bf16 on CUDA, and on CPUs with AMX (``amx_bf16`` in /proc/cpuinfo) once the search is
big enough to pay for importing torch; float32 elsewhere: on a CPU with AVX512-BF16 but no AMX the bf16 search
measured no faster than the float32 one (benchmarks/bench_knn.py).

Several processes (``knn_many(..., world=)``, ``torchrun ... mmwe mnno``): rank r computes its share of the block
pairs (balanced by multiply-adds), rank 0 gathers every rank's candidate lists and merges them (each pair of rows
is scored by exactly one rank, so a merged list holds the best K + spare entries of the union and the best score
any rank dropped), then orders them as above and sends the final lists to every rank: the same lists as one
process.

``include_self``: ``False`` (default) lists the K nearest *other* rows. ``True`` counts each row as its own
first neighbour followed by its K-1 nearest other rows.

``ties="sklearn"`` reproduces Collell & Moens' released procedure bit for bit by running it: scikit-learn's
brute ``NearestNeighbors(n_neighbors=K, metric=...).fit(X)``, then ``kneighbors(X)`` (``include_self=True``:
the query points are the fitted points, so each row is usually its own first neighbour) or ``kneighbors()``
(``include_self=False``: scikit-learn drops the query point itself). scikit-learn breaks exact ties at the
K-th place by its own float rounding and partial sort, so among exactly duplicated rows its choice differs
from the lower-index rule (on IAPR TC-12, K = 10, self counted: 0.170795 cosine vs 0.170642 with
``ties="index"``). That rounding depends on the BLAS kernel, so scikit-learn's result (and this one) can differ
between CPUs (on an OpenBLAS SkylakeX machine it gave 0.170642). Cosine and euclidean only; memory is
scikit-learn's (chunked, ``working_memory``).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from mmwe.devices import resolve_device
from mmwe.errors import MmweError
from mmwe.validation import check_k, check_matrix

Metric = Literal["cosine", "euclidean", "dot"]
Backend = Literal["exact", "torch", "faiss", "hnsw"]
Ties = Literal["index", "sklearn"]
Precision = Literal["auto", "fp32", "bf16"]
METRICS = ("cosine", "euclidean", "dot")
TIES = ("index", "sklearn")
PRECISIONS = ("auto", "fp32", "bf16")

_POOL = 16  # entries per max-pooled group when scanning a block for candidates (blocks are padded to it)
_SPARE = 2  # list slots beyond K: near-ties at the K-th place are resolved from the list, without a re-search
_IDX_CAP = 2**31 - 1  # row indices must stay below this (2 billion rows)
_NO_INDEX = _IDX_CAP  # index of an empty list slot (sorts after every real index)
_SIDE_BY_SIDE_BYTES = 1 << 30  # knn_many runs searches concurrently only while their float32 copies fit in this
_U32 = 2.0**-24  # unit roundoff of float32
_UBF16 = 2.0**-9  # unit roundoff of bf16 (8-bit significand)
_SPARE_BF16 = 22  # list slots beyond K with bf16 candidates (their margin is 160x wider at d = 300)
_AUTO_BF16_WORK = 7.5e11  # auto: bf16 on an AMX CPU from N^2 d on (the GEMM time saved pays for importing torch)
_KEY_CHUNK = 1 << 21  # float64 re-scoring: at most this many values (16 MB) per gathered operand
_ROWS_CELLS = 1 << 24  # exact_rows: at most this many scores (64 MB) in one query-vs-all block
_EXACT_INT = 2.0**26  # integer data with d * max|x|^2 below this: every float64 sum of the keys is exact


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


def _check_options(metric: str, ties: str) -> None:
    if metric not in METRICS:
        raise MmweError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    if ties not in TIES:
        raise MmweError(f"ties must be one of {', '.join(TIES)}; got {ties!r}")


def _scoring_rows(X: np.ndarray, metric: str, n_rows: int | None = None,
                  chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows as float32 for the GEMM, plus squared norms for euclidean (None otherwise).

    One float32 working copy, filled ``chunk`` rows at a time (no full-size float64 or second float32
    temporary: at N = 10^6 x 300 each of those would be 1.2-2.4 GB). ``n_rows`` >= len(X) pads with zero rows.
    Euclidean rows are centred on the float64 mean: distances do not change, norms get small (accurate
    float32); the rounding this adds is inside the margin of ``_margins``.
    """
    _check_options(metric, "index")
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
        if metric == "cosine":  # unit rows, normalised in float64 (tiny rows would underflow in float32)
            x = np.asarray(X[s:e], dtype=np.float64)
            norms = np.linalg.norm(x, axis=1)[:, None]
            Y[s:e] = x / np.where(norms == 0, 1, norms)
        else:
            Y[s:e] = X[s:e]
    return Y, sq


def _bf16_delta(d: int) -> float:
    """Relative part of the bf16 GEMM's extra error (module docstring): inputs, float32 sum, bf16 output."""
    u, g = _UBF16, d * _U32 / (1 - d * _U32)
    return 1.25 * ((2 * u + u * u) + g * (1 + u) ** 2 + u * (1 + g) * (1 + u) ** 2)


def _margins(Y: np.ndarray, sq: np.ndarray | None, metric: str, n: int, precision: str = "fp32",
             chunk: int = 1 << 16) -> np.ndarray:
    """(len(Y),) float64: 2 * delta_i, twice a bound on |computed score - exact score| over row i's entries.

    A float32 dot product of d terms errs by at most ~d 2^-24 sum|x_k y_k| <= d 2^-24 |x| |y| in any
    summation order; the cast, normalisation / centring and the euclidean norms add about as much again,
    hence (2d + 16) 2^-24 (a 1.25 safety factor on top), plus 2^-149 per term for products that underflow.
    Cosine rows are unit: one margin for all. Euclidean: |x|^2 + |y|^2 of the centred rows bounds |x||y| and
    the norm terms (the largest |y|^2 stands for all y). Padding rows get 0. ``precision="bf16"``: the GEMM
    multiplies the rows rounded to bf16 and may return bf16; ``_bf16_delta`` and the flushes are added (module
    docstring).
    """
    d = Y.shape[1]
    delta, tiny = 1.25 * (2 * d + 16) * _U32, 4 * (d + 2) * 2.0**-149
    if precision == "bf16" and n:
        top = max(float(np.abs(Y[a:min(a + chunk, n)]).max(initial=0.0)) for a in range(0, n, chunk))
        delta += _bf16_delta(d)
        tiny += 2 * 1.25 * (2 * d * top + 2 * d + 4) * 2.0**-126  # x2: euclidean doubles the dot
    out = np.zeros(len(Y))
    if n == 0:
        return out
    if metric == "cosine":
        out[:n] = 2 * (delta + tiny)
    elif metric == "euclidean":
        s = sq[:n].astype(np.float64)
        out[:n] = 2 * (delta * (s + s.max()) + tiny)
    else:
        norms = np.concatenate([np.linalg.norm(np.asarray(Y[a:min(a + chunk, n)], dtype=np.float64), axis=1)
                                for a in range(0, n, chunk)])
        out[:n] = 2 * (delta * norms * norms.max() + tiny)
    return out


def _lowered(thr: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """float32 thresholds thr - margin, rounded down (never above the exact difference)."""
    exact = thr.astype(np.float64) - margin
    out = exact.astype(np.float32)
    return np.where(out > exact, np.nextafter(out, np.float32(-np.inf)), out)


# -- the float64 re-score ---------------------------------------------------------------------------------
def _seq_sum(P: np.ndarray) -> np.ndarray:
    """Row sums of (m, d) float64 in a fixed left-to-right order (elementwise adds: no BLAS, no reordering)."""
    if P.shape[1] == 0:
        return np.zeros(len(P))
    Pt = np.ascontiguousarray(P.T)  # (d, m): each add below is one contiguous vector op
    acc = Pt[0].copy()
    for t in range(1, len(Pt)):
        acc += Pt[t]
    return acc


class _KeyContext:
    """float64 re-scoring of (row, row) pairs of the original data, a function of the two rows alone."""

    def __init__(self, X: np.ndarray, metric: str):
        self.X, self.metric = X, metric
        self.step = max(1, _KEY_CHUNK // max(X.shape[1], 1))  # rows per gathered (m, d) float64 operand
        self._sqnorm = np.full(len(X), np.nan)  # (N,) fixed-order |x|^2, filled on demand
        self._integral: bool | None = None

    def sqnorm(self, rows: np.ndarray) -> np.ndarray:
        """Fixed-order |x|^2 of the given rows (the same sum as a row's key with itself)."""
        need = np.unique(rows[np.isnan(self._sqnorm[rows])])
        for s in range(0, len(need), self.step):
            sel = need[s:s + self.step]
            self._sqnorm[sel] = _seq_sum(np.square(np.asarray(self.X[sel], dtype=np.float64)))
        return self._sqnorm[rows]

    @property
    def integral(self) -> bool:
        """Integer data small enough that every float64 sum involved is exact (any order, any BLAS)."""
        if self._integral is None:
            X, step, ok, top = self.X, 1 << 16, True, 0.0
            for s in range(0, len(X), step):
                a = np.asarray(X[s:s + step], dtype=np.float64)
                ok = ok and bool((a == np.round(a)).all())
                top = max(top, float(np.abs(a).max(initial=0.0)))
            self._integral = ok and top * top * max(X.shape[1], 1) < _EXACT_INT
        return self._integral

    def finish(self, dots: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Keys from fixed-order dot products (euclidean: from -|x-y|^2, already final)."""
        if self.metric == "cosine":
            den = self.sqnorm(rows) * self.sqnorm(cols)
            return np.where(den == 0, 0.0, dots * np.abs(dots) / np.where(den == 0, 1.0, den))
        return dots

    def keys(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """float64 keys (larger = nearer) of the pairs (rows[t], cols[t])."""
        out, step = np.empty(len(rows)), self.step
        for s in range(0, len(rows), step):
            a = np.asarray(self.X[rows[s:s + step]], dtype=np.float64)  # (m, d)
            b = np.asarray(self.X[cols[s:s + step]], dtype=np.float64)
            if self.metric == "euclidean":
                a -= b
                out[s:s + step] = -_seq_sum(np.square(a, out=a))
            else:
                out[s:s + step] = _seq_sum(np.multiply(a, b, out=a))
        return self.finish(out, rows, cols)

    def dense_keys(self, q: np.ndarray, r: np.ndarray, j: np.ndarray) -> np.ndarray:
        """``keys(q[r], j)`` for many pairs of integral data, by float64 GEMMs over column blocks (exact)."""
        X, out, step = self.X, np.empty(len(r)), self.step
        Xq = np.asarray(X[q], dtype=np.float64)  # (c, d)
        order = np.argsort(j, kind="stable")
        edges = np.searchsorted(j[order], np.arange(0, len(X) + step, step))
        for t, lo in enumerate(range(0, len(X), step)):
            sel = order[edges[t]:edges[t + 1]]
            if len(sel):
                Xb = np.asarray(X[lo:lo + step], dtype=np.float64)  # (step, d)
                out[sel] = (Xq @ Xb.T)[r[sel], j[sel] - lo]
        if self.metric == "euclidean":  # exact integers: -|x - y|^2 = 2 x.y - |x|^2 - |y|^2
            return 2 * out - self.sqnorm(q[r]) - self.sqnorm(j)
        return self.finish(out, q[r], j)


# -- exact lexicographic selection ------------------------------------------------------------------------
# Small sorts run in numpy, single-threaded: a multi-threaded sort of a few 10^4 items is slow on contended cores.
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


# -- the blocked float32 candidate search ------------------------------------------------------------------
class _TopK:
    """Running lists of all rows: the best K + spare entries by float32 score (desc, index asc), and the best
    score each row has dropped (``runner``)."""

    def __init__(self, n: int, k: int, spare: int, n_real: int, margin: np.ndarray):
        self.k, self.size = k, k + spare
        self.scores = np.full((n, self.size), -np.inf, dtype=np.float32)  # (N, K+spare) best scores so far
        self.index = np.full((n, self.size), _NO_INDEX, dtype=np.int32)  # (N, K+spare) their row indices (int32:
        # 4 bytes a slot, 48 MB less at N = 1M, K = 10; indices stay below _IDX_CAP)
        self.runner = np.full(n, -np.inf, dtype=np.float32)  # (N,) best score not (or no longer) listed
        self.n_real = n_real  # rows from n_real on are padding and never take candidates
        self.margin = margin  # (N,) float64 2*delta_i

    def kth(self, lo: int, hi: int) -> np.ndarray:
        """Current K-th score of rows lo..hi-1 (+inf for padding rows)."""
        thr = self.scores[lo:hi, self.k - 1].copy()
        thr[max(self.n_real - lo, 0):] = np.inf
        return thr

    def merge(self, rows: np.ndarray, idx: np.ndarray, scores: np.ndarray) -> None:
        """Fold candidate (row, index, score) triples into the lists."""
        if len(rows) == 0:
            return
        size = self.size
        counts = np.bincount(rows - rows.min())
        touched = np.flatnonzero(counts) + rows.min()  # sorted row ids
        counts = counts[counts > 0] + size
        local = np.repeat(np.arange(len(touched), dtype=np.int32), size)
        inverse = np.searchsorted(touched, rows).astype(np.int32)
        all_r = np.concatenate([local, inverse])
        all_i = np.concatenate([self.index[touched].ravel(), idx])
        all_s = np.concatenate([self.scores[touched].ravel(), scores])
        order = _lex_order(all_r, all_s, all_i)
        starts = np.cumsum(counts) - counts  # first slot of each touched row after sorting
        take = order[(starts[:, None] + np.arange(size)).ravel()]
        self.scores[touched] = all_s[take].reshape(-1, size)
        self.index[touched] = all_i[take].reshape(-1, size)
        dropped = all_s[order[starts + size]]  # best entry past the list (rows always have >= 1 candidate)
        self.runner[touched] = np.maximum(self.runner[touched], dropped)


class _Gemm:
    """Score blocks ``Y[lo_i:hi_i] Y[lo_j:hi_j]^T`` into float32 buffers: numpy's BLAS in float32, or (bf16) torch
    on the rows rounded to bf16 (oneDNN's bf16 kernels; the bf16 product is widened into the buffer)."""

    def __init__(self, Y: np.ndarray, precision: str, cells: int, chunk: int = 1 << 16):
        self.Y, self.torch = Y, None
        if precision == "bf16":
            import torch

            self.torch = torch
            self.Yb = torch.empty(Y.shape, dtype=torch.bfloat16)  # (N, d) rounded to nearest even, by chunk
            for a in range(0, len(Y), chunk):
                self.Yb[a:a + chunk] = torch.from_numpy(Y[a:a + chunk])
            self.out = torch.empty(cells, dtype=torch.bfloat16)  # one bf16 product block

    def __call__(self, lo_i: int, hi_i: int, lo_j: int, hi_j: int, S: np.ndarray) -> None:
        if self.torch is None:
            np.matmul(self.Y[lo_i:hi_i], self.Y[lo_j:hi_j].T, out=S)  # float32 GEMM (numpy's BLAS was the faster)
            return
        out = self.out[:S.size].view(S.shape)
        self.torch.mm(self.Yb[lo_i:hi_i], self.Yb[lo_j:hi_j].T, out=out)  # bf16 in, float32 sums, bf16 out
        self.torch.from_numpy(S).copy_(out)


def _block_scores(gemm: _Gemm, sq: np.ndarray | None, lo_i: int, hi_i: int, lo_j: int, hi_j: int,
                  buf: np.ndarray, n_real: int) -> np.ndarray:
    """S = scores between rows lo_i..hi_i and lo_j..hi_j, written into buf; padding rows/cols -> -inf."""
    bi, bj = hi_i - lo_i, hi_j - lo_j
    S = buf[: bi * bj].reshape(bi, bj)
    gemm(lo_i, hi_i, lo_j, hi_j, S)  # (bi, bj) dot products
    if sq is not None:  # euclidean: 2*dot - (|x|^2 + |y|^2)
        S *= 2
        S -= sq[lo_i:hi_i, None] + sq[None, lo_j:hi_j]
    if hi_i > n_real:
        S[max(n_real - lo_i, 0):] = -np.inf
    if hi_j > n_real:
        S[:, max(n_real - lo_j, 0):] = -np.inf
    return S


def _tighten(thr: np.ndarray, pooled: np.ndarray, k: int, dim: int) -> np.ndarray:
    """Raise thresholds to the k-th largest group maximum along ``dim`` when there are k groups.

    The k largest group maxima are k distinct entries, so their minimum is at most the row's final K-th
    score: a valid bar, which makes a row's first block cheap to scan.
    """
    if pooled.shape[dim] < k or not np.isneginf(thr).any():  # once lists are full the bar rarely helps
        return thr
    g = pooled.shape[dim]
    bound = np.take(np.partition(pooled, g - k, axis=dim), g - k, axis=dim)  # k-th largest group maximum
    return np.maximum(thr, bound)


def _row_candidates(S: np.ndarray, kth: np.ndarray, margin: np.ndarray,
                    k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local row, local column, score) of the entries of S within ``margin`` of their row's K-th score.

    Column group g holds the strided columns g, g + bj/P, g + 2 bj/P, ...: pooling them is a vertical max
    of P contiguous vectors, several times faster than reducing P adjacent entries.
    """
    bi, bj = S.shape
    w = bj // _POOL
    pooled = S.reshape(bi, _POOL, w).max(axis=1)  # (bi, bj/P) group maxima: P vertical vector maxima
    thr = _lowered(_tighten(kth, pooled, k, 1), margin)
    r, g = np.nonzero(pooled >= thr[:, None])
    vals = S.reshape(bi, _POOL, w)[r, :, g]  # (h, P)
    keep = (vals >= thr[r][:, None]) & (vals > -np.inf)
    cols = g[:, None] + np.arange(_POOL) * w
    return np.repeat(r, keep.sum(1)), cols[keep], vals[keep]


def _col_candidates(S: np.ndarray, kth: np.ndarray, margin: np.ndarray,
                    k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local column, local row, score) of the entries of S within ``margin`` of their column's K-th score."""
    bi, bj = S.shape
    pooled = S.reshape(bi // _POOL, _POOL, bj).max(axis=1)  # (bi/P, bj) group maxima
    thr = _lowered(_tighten(kth, pooled, k, 0), margin)
    g, c = np.nonzero(pooled >= thr[None, :])
    vals = S.reshape(bi // _POOL, _POOL, bj)[g, :, c]  # (h, P)
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
        off += [(sub[s], sub[s + 1], sub[t], sub[t + 1])
                for s in range(len(sub) - 1) for t in range(s + 1, len(sub) - 1)]
        off += [(lo, hi, lo_j, hi_j) for lo_j, hi_j in zip(edges[a + 1:-1], edges[a + 2:])]
    return diag, off


def _seed_diagonal(S: np.ndarray, lists: _TopK, lo: int, hi: int, k: int, include_self: bool) -> None:
    """First candidates of rows lo..hi from their own square (symmetric: its rows are all there is)."""
    np.fill_diagonal(S, np.inf if include_self else -np.inf)
    if (hi - lo) // _POOL >= k:
        r, c, v = _row_candidates(S, lists.kth(lo, hi), lists.margin[lo:hi], k)
    else:  # too few groups to bound k entries: every entry is a candidate (a small square)
        real = S > -np.inf
        r, c = np.nonzero(real)
        v = S[real]
    lists.merge(r + lo, c + lo, v)


def _my_tiles(diag: list[tuple[int, int]], off: list[tuple[int, int, int, int]],
              share: tuple[int, int]) -> tuple[list[tuple[int, int]], list[tuple[int, int, int, int]]]:
    """Rank r's share of the tiles (share = (r, world)): each tile to the rank with the fewest multiply-adds so
    far (lowest rank on a tie), in the search's order. The same on every rank; every tile goes to one rank."""
    rank, world = share
    if world == 1:
        return diag, off
    load = [0] * world
    mine: tuple[list, list] = ([], [])
    for kind, tiles in enumerate((diag, off)):
        for t in tiles:
            owner = load.index(min(load))
            load[owner] += (t[1] - t[0]) * ((t[1] - t[0]) if kind == 0 else (t[3] - t[2]))
            if owner == rank:
                mine[kind].append(t)
    return mine


def _candidate_lists(Y: np.ndarray, sq: np.ndarray | None, n: int, k: int, include_self: bool,
                     margin: np.ndarray, block_size: int, progress: Callable[[int, int], None] | None,
                     precision: str = "fp32", share: tuple[int, int] = (0, 1)) -> _TopK:
    """The blocked symmetric search (see the module docstring): lists of K + spare candidates (this rank's
    share of the block pairs only, when ``share`` = (rank, world) splits them)."""
    n_pad = len(Y)
    diag, off = _tiles(n_pad, max(block_size, 4 * (k + 2)), k)
    biggest = max([(hi - lo) ** 2 for lo, hi in diag] + [(b - a) * (d - c) for a, b, c, d in off])
    diag, off = _my_tiles(diag, off, share)
    buf = np.empty(biggest, dtype=np.float32)
    gemm = _Gemm(Y, precision, biggest)
    lists = _TopK(n_pad, k, _SPARE_BF16 if precision == "bf16" else _SPARE, n, margin)
    total = len(diag) + len(off)
    for done, (lo, hi) in enumerate(diag, start=1):  # diagonal squares first: they seed every threshold
        _seed_diagonal(_block_scores(gemm, sq, lo, hi, lo, hi, buf, n), lists, lo, hi, k, include_self)
        if progress:
            progress(done, total)
    for done, (lo_i, hi_i, lo_j, hi_j) in enumerate(off, start=len(diag) + 1):
        S = _block_scores(gemm, sq, lo_i, hi_i, lo_j, hi_j, buf, n)
        r, c, v = _row_candidates(S, lists.kth(lo_i, hi_i), margin[lo_i:hi_i], k)  # rows of I against J
        lists.merge(r + lo_i, c + lo_j, v)
        c, r, v = _col_candidates(S, lists.kth(lo_j, hi_j), margin[lo_j:hi_j], k)  # and, transposed, rows of J
        lists.merge(c + lo_j, r + lo_i, v)
        if progress:
            progress(done, total)
    return lists


# -- exact order from the candidates ----------------------------------------------------------------------
def _order_lists(lists: _TopK, n: int, ctx: _KeyContext, chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) neighbours from the candidate lists, and the rows that must be searched again.

    Entries whose float32 scores are within the row's margin of a neighbour form a cluster; between clusters
    the float32 order is certain, inside one the float64 key decides (then the lower index). By ``chunk``
    rows, so that the temporaries stay O(chunk * K).
    """
    k = lists.k
    out = np.empty((n, k), dtype=np.int64)
    redo = []
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        s, idx, margin = lists.scores[a:b], lists.index[a:b], lists.margin[a:b]  # (c, K+spare)
        kth = s[:, k - 1].astype(np.float64)
        redo.append(a + np.flatnonzero(lists.runner[a:b] >= kth - margin))  # a dropped entry may tie the K-th
        with np.errstate(invalid="ignore"):  # inf - inf (self entries, empty slots): never a cluster
            close = (s[:, :-1].astype(np.float64) - s[:, 1:]) <= margin[:, None]  # (c, K+spare-1)
        cluster = np.concatenate([np.zeros((b - a, 1), dtype=np.int32), np.cumsum(~close, axis=1, dtype=np.int32)],
                                 axis=1)
        shared = np.zeros(s.shape, dtype=bool)
        shared[:, 1:] |= close
        shared[:, :-1] |= close
        shared &= (cluster <= cluster[:, k - 1:k]) & (idx != _NO_INDEX) & (s < np.inf)
        r, p = np.nonzero(shared)
        key = np.where(np.isposinf(s), np.inf, 0.0)  # the row itself (include_self) stays first
        key[r, p] = ctx.keys(a + r, idx[r, p])
        order = np.lexsort((idx, -key, cluster), axis=1)[:, :k]
        out[a:b] = np.take_along_axis(idx, order, axis=1)
    return out, np.concatenate(redo) if redo else np.zeros(0, dtype=np.int64)


def _resolve_rows(ctx: _KeyContext, Y: np.ndarray, sq: np.ndarray | None, rows: np.ndarray, k: int,
                  include_self: bool, margin: np.ndarray, cells: int) -> np.ndarray:
    """(len(rows), K) exact neighbours of the given rows, searched against all rows (``cells`` scores a chunk).

    Every entry within the row's margin of its float32 K-th score is re-scored in float64 (all of them, so a
    tie group of any size is complete); the rest are provably farther than the K-th neighbour.
    """
    n = len(ctx.X)
    out = np.empty((len(rows), k), dtype=np.int64)
    c = max(1, min(len(rows), cells // max(n, 1)))
    for start in range(0, len(rows), c):
        q = np.asarray(rows[start:start + c], dtype=np.int64)
        S = Y[q] @ Y[:n].T  # (c, N) the same float32 formula as the blocked search
        if sq is not None:
            S *= 2
            S -= sq[q][:, None] + sq[None, :n]
        S[np.arange(len(q)), q] = np.inf if include_self else -np.inf
        kth = np.partition(S, n - k, axis=1)[:, n - k]  # (c,) float32 K-th score
        r, j = np.nonzero(S >= _lowered(kth, margin[q])[:, None])  # (m,) candidates, row-major
        if len(r) > 64 * len(q) and ctx.integral:  # a big tie group of integer data: exact GEMMs
            key = ctx.dense_keys(q, r, j)
        else:
            key = ctx.keys(q[r], j)
        if include_self:
            key[q[r] == j] = np.inf
        order = np.lexsort((j, -key, r))
        counts = np.bincount(r, minlength=len(q))
        first = np.cumsum(counts) - counts
        out[start:start + len(q)] = j[order[first[:, None] + np.arange(k)]]
    return out


def _exact_lists(X: np.ndarray, k: int, metric: str, include_self: bool, block_size: int,
                 progress: Callable[[int, int], None] | None, precision: str,
                 share: tuple[int, int] = (0, 1)) -> tuple[np.ndarray, np.ndarray | None, _TopK]:
    """(Y, sq, candidate lists) of the exact backend's search (this rank's share of it)."""
    n = len(X)
    n_pad = math.ceil(n / _POOL) * _POOL
    Y, sq = _scoring_rows(X, metric, n_pad)  # (n_pad, d): padding rows are zero, their scores set to -inf
    margin = _margins(Y, sq, metric, n, precision)
    return Y, sq, _candidate_lists(Y, sq, n, k, include_self, margin, block_size, progress, precision, share)


def _rescore32(lists: _TopK, Y: np.ndarray, sq: np.ndarray | None, n: int, margin32: np.ndarray,
               chunk: int = 1024) -> None:
    """bf16 candidate lists -> float32 ones, in place: every listed entry re-scored with the float32 formula
    (error <= delta32), each row re-sorted by (score desc, index asc), margin -> the float32 one.

    The runner-up (bf16, error <= delta_b) becomes runner + (margin_b - margin32) / 2, rounded up: then
    ``_order_lists``' test runner' >= kth32 - margin32 is runner + delta_b >= kth32 - delta32, i.e. an entry left
    out of the list may reach the K-th score. So the float64 keys are needed only for float32 near-ties.
    """
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        idx, old = lists.index[a:b], lists.scores[a:b]
        real = (idx != _NO_INDEX) & np.isfinite(old)  # not an empty slot nor the row itself (+inf)
        J = np.where(real, idx, 0)
        s = np.einsum("cd,csd->cs", Y[a:b], Y[J])  # (c, K+spare) float32 dot products
        if sq is not None:
            s *= 2
            s -= sq[a:b, None] + sq[J]
        s = np.where(real, s, old)
        order = np.lexsort((idx, -s), axis=1)
        lists.scores[a:b] = np.take_along_axis(s, order, axis=1)
        lists.index[a:b] = np.take_along_axis(idx, order, axis=1)
        up = lists.runner[a:b].astype(np.float64) + (lists.margin[a:b] - margin32[a:b]) / 2
        r32 = up.astype(np.float32)
        lists.runner[a:b] = np.where(r32 < up, np.nextafter(r32, np.float32(np.inf)), r32)
    lists.margin = margin32


def _exact_order(X: np.ndarray, Y: np.ndarray, sq: np.ndarray | None, lists: _TopK, k: int, metric: str,
                 include_self: bool, block_size: int, precision: str) -> np.ndarray:
    """(N, K) exact lists from the candidate lists: float64 order, rows with an unresolved tie searched again."""
    n = len(X)
    if precision != "fp32":
        _rescore32(lists, Y, sq, n, _margins(Y, sq, metric, n))
    ctx = _KeyContext(X, metric)
    out, redo = _order_lists(lists, n, ctx)
    margin, lists = lists.margin, None
    if len(redo):
        cells = max(block_size**2, _ROWS_CELLS // 4)  # the O(block^2) memory of the search, at least 16 MB
        out[redo] = _resolve_rows(ctx, Y, sq, redo, k, include_self, margin, cells)
    return out


def _knn_exact(X: np.ndarray, k: int, metric: str, include_self: bool, block_size: int = 4096,
               progress: Callable[[int, int], None] | None = None, precision: str = "fp32") -> np.ndarray:
    """The exact backend: blocked float32 (or bf16) candidate search + float64 ordering (module docstring)."""
    Y, sq, lists = _exact_lists(X, k, metric, include_self, block_size, progress, precision)
    return _exact_order(X, Y, sq, lists, k, metric, include_self, block_size, precision)


# -- scikit-learn's procedure -----------------------------------------------------------------------------
def _knn_sklearn(X: np.ndarray, k: int, metric: str, include_self: bool) -> np.ndarray:
    """Collell & Moens' released procedure: scikit-learn brute kNN on the fitted set (see the docstring)."""
    from sklearn.neighbors import NearestNeighbors

    with threadpool_limits(_threads()):  # BLAS and OpenMP: scikit-learn's chunking follows its thread count
        nn = NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute").fit(X)
        ind = nn.kneighbors(X)[1] if include_self else nn.kneighbors()[1]  # as the released code calls it
    return np.asarray(ind, dtype=np.int64)


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


# -- torch backend (CUDA) ---------------------------------------------------------------------------------
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
                 block_size: int, progress: Callable[[int, int], None] | None, precision: str = "fp32",
                 share: tuple[int, int] = (0, 1)) -> _TopK:
    """Candidate lists (as ``_candidate_lists`` makes them) from a blocked query-vs-all search in torch (the
    query blocks ``share`` = (rank, world) gives this rank: every world-th one)."""
    import torch

    n = len(Y)
    spare = _SPARE_BF16 if precision == "bf16" else _SPARE
    size = k + spare
    lists = _TopK(n, k, spare, n, margin)
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
                progress(done, len(blocks))
    return lists


def _torch_search(X: np.ndarray, k: int, metric: str, include_self: bool, block_size: int,
                  progress: Callable[[int, int], None] | None, precision: str, share: tuple[int, int] = (0, 1),
                  device=None) -> tuple[np.ndarray, np.ndarray | None, _TopK]:
    """(Y, sq, candidate lists) of the torch backend (``device``: default CUDA when available, else CPU)."""
    import torch

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    Y, sq = _scoring_rows(X, metric)  # (N, d) float32 (+ squared norms for euclidean)
    margin = _margins(Y, sq, metric, len(X), precision)
    return Y, sq, _torch_lists(Y, sq, k, include_self, margin, device, block_size, progress, precision, share)


def _knn_torch(X: np.ndarray, k: int, metric: str, include_self: bool, device=None, block_size: int = 4096,
               progress: Callable[[int, int], None] | None = None, precision: str = "fp32", **_) -> np.ndarray:
    """The ``"torch"`` backend: candidate lists from torch GEMMs, then the exact backend's float64 ordering and
    re-search of unresolved ties (on the CPU)."""
    Y, sq, lists = _torch_search(X, k, metric, include_self, block_size, progress, precision, device=device)
    return _exact_order(X, Y, sq, lists, k, metric, include_self, block_size, precision)


def backend_on(device: str, backend: str, ties: str = "index") -> str:
    """The backend that runs on ``device`` (auto | cpu | cuda): the exact search goes to the torch backend when
    CUDA is used (auto: when a GPU is there); a clear error for what cannot run there. torch is imported only
    when a GPU may be there (an NVIDIA device node exists): `mmwe mnno` on the CPU stays torch-free (~3 s)."""
    if device == "cpu" or (device == "auto" and not os.path.exists("/dev/nvidia0")):
        return backend
    resolved = resolve_device(device)  # an unknown value or cuda without a GPU: one clear error
    if device == "cuda" and (backend in ("faiss", "hnsw") or ties == "sklearn"):
        raise MmweError(f"--device cuda runs the exact search (ties index) on the GPU, got --backend {backend} "
                        f"--ties {ties}, which run on the CPU; fix: drop --device cuda or use --backend exact")
    if resolved == "cuda" and backend == "exact" and ties == "index":
        return "torch"
    return backend


BACKENDS: dict[str, Callable[..., np.ndarray]] = {"exact": _knn_exact, "torch": _knn_torch, "faiss": _knn_faiss,
                                                  "hnsw": _knn_hnsw}


# -- precision --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (``flags`` in /proc/cpuinfo; empty where there is no such file)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def resolve_precision(precision: str, n: int, d: int, backend: str = "exact") -> str:
    """``auto`` -> ``bf16`` or ``fp32`` for a search of n x d rows (``fp32`` / ``bf16`` are kept as asked).

    auto is bf16 for the torch backend on CUDA, and on a CPU with AMX (``amx_bf16``) when torch is already
    loaded or n^2 d >= ``_AUTO_BF16_WORK`` (from issue 21's AMX figures: the bf16 tiles save ~0.83 s of 1.01 s at
    N = 30k, d = 300, importing torch costs ~2.1 s, so bf16 pays from about N = 50k there). CPUs with AVX512-BF16
    but no AMX stay float32: measured no faster there (benchmarks/bench_knn.py, README).
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


# -- one search, several searches, several processes ---------------------------------------------------------
def _run(X: np.ndarray, k: int, metric: str, include_self: bool, backend: str, ties: str, block_size: int,
         hnsw: HnswConfig | None, progress: Callable[[int, int], None] | None, precision: str = "fp32") -> np.ndarray:
    """One search of validated input with the current thread settings (``precision`` resolved)."""
    if ties == "sklearn":
        return _knn_sklearn(X, k, metric, include_self)
    if backend == "exact":
        return _knn_exact(X, k, metric, include_self, block_size, progress, precision)
    if backend == "torch":
        return _knn_torch(X, k, metric, include_self, block_size=block_size, progress=progress, precision=precision)
    return BACKENDS[backend](X, k, metric, include_self, hnsw=hnsw)


def _threads() -> int:
    """Threads the search may use: torch's setting when torch is loaded, else the BLAS behind numpy's.

    ``mmwe.threads.thread_limit(n)`` sets both. torch itself is not needed here (importing it costs seconds).
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        return torch.get_num_threads()

    return max([p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"], default=1)


@contextlib.contextmanager
def _blas_threads(n: int, torch_too: bool = False) -> Iterator[None]:
    """The BLAS behind numpy (and, for the bf16 GEMMs, torch) use ``n`` threads inside the block."""
    with threadpool_limits(n, user_api="blas"):
        if not torch_too:
            yield
            return
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)


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
        progress: Callable[[int, int], None] | None = None, precision: Precision = "auto") -> np.ndarray:
    """(N, k) int64 indices of the k nearest neighbours of every row of X, nearest first.

    ``ties="index"``: exact order, ties -> lower index; ``ties="sklearn"``: scikit-learn's brute search (the
    released procedure). ``include_self=True`` counts row i itself (first, for "index"); see the module
    docstring. The exact backend runs its GEMMs on ``_threads()`` threads (``mmwe.threads.thread_limit`` sets
    them); its result does not depend on that number. ``progress(done, total)`` is called after each block pair.
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


def _progress_parts(progress: Callable[[int, int], None] | None, m: int) -> list:
    """One (done, total) over m searches, which may report from worker threads."""
    if progress is None:
        return [None] * m
    counts, lock = [[0, 0] for _ in range(m)], threading.Lock()

    def part(i: int) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            with lock:
                counts[i] = [done, total]
                known = [t for _, t in counts if t]
                whole = sum(known) * m // len(known)  # sets not started yet: as big as those started
                progress(sum(d for d, _ in counts), whole)
        return report
    return [part(i) for i in range(m)]


def knn_many(Xs: Sequence[np.ndarray], k: int, progress: Callable[[int, int], None] | None = None,
             world=None, **options) -> list[np.ndarray]:
    """``knn`` of several matrices (e.g. the two sides of a pair), run side by side for the exact backend.

    With T = ``_threads()`` >= 2, each of the m searches runs in its own thread with T // m
    threads inside: the per-block bookkeeping is single-threaded numpy, so searching the sets concurrently
    keeps every core busy where one multi-threaded search at a time would leave cores idle. Sets whose
    float32 working copies together exceed ``_SIDE_BY_SIDE_BYTES`` are searched one after the other, so
    that only one copy is alive at a time (peak memory: the inputs + one copy + O(N K)).

    The lists come back as int32 (N < 2^31 always holds, see ``_IDX_CAP``): the lists already found are kept
    while the next set is searched, so at N = 1M, K = 10 each costs 40 MB instead of 80 MB.
    ``progress(done, total)`` counts the block pairs of all the exact (or torch) searches together.

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


def torchrun_world(backend: str = "exact", ties: str = "index"):
    """The process group of ``torchrun`` (``mmwe.lm.ddp.init_from_env`` on gloo: the lists travel on the CPU)
    when this process is one of several ranks (WORLD_SIZE > 1), else None, without importing torch."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:  # the variable init_from_env reads: torch only when needed
        return None
    if backend not in ("exact", "torch") or ties != "index":
        raise MmweError(f"torchrun splits the exact search (backend exact or torch, ties index) over its ranks, got "
                        f"backend {backend}, ties {ties}; fix: run it as one process")
    import torch

    from mmwe.lm.ddp import init_from_env

    return init_from_env(torch.device("cpu"))


def _spread(X: np.ndarray, k: int, world, *, metric: Metric = "cosine", include_self: bool = False,
            backend: Backend = "exact", block_size: int = 4096, precision: Precision = "auto",
            progress: Callable[[int, int], None] | None = None, **_) -> np.ndarray:
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
            device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}" if torch.cuda.is_available() else "cpu"
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
