"""The exact order of candidate lists: the running lists (``_TopK``) and their lexicographic selection, the float64
re-score of near-ties (``_KeyContext``), the re-search of unresolved rows, and the float32 re-score of bf16 lists
(``mmwe.neighbors.scoring`` derives the bounds these rely on).
"""

from __future__ import annotations

import numpy as np

from mmwe.neighbors.scoring import _EXACT_INT, _IDX_CAP, _KEY_CHUNK, _NO_INDEX, _lowered


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



class _TopK:
    """Running lists of all rows: the best K + spare entries by float32 score (desc, index asc), and the best
    score each row has dropped (``runner``)."""

    def __init__(self, n: int, k: int, spare: int, n_real: int, margin: np.ndarray, rel: float = 0.0):
        self.k, self.size = k, k + spare
        self.scores = np.full((n, self.size), -np.inf, dtype=np.float32)  # (N, K+spare) best scores so far
        self.index = np.full((n, self.size), _NO_INDEX, dtype=np.int32)  # (N, K+spare) their row indices (int32:
        # 4 bytes a slot, 48 MB less at N = 1M, K = 10; indices stay below _IDX_CAP)
        self.runner = np.full(n, -np.inf, dtype=np.float32)  # (N,) best score not (or no longer) listed
        self.n_real = n_real  # rows from n_real on are padding and never take candidates
        self.margin = margin  # (N,) float64 2*delta_i
        self.rel = rel  # bf16 output rounding: each score may also err by rel * |its value| (0: none)

    def kth(self, lo: int, hi: int) -> np.ndarray:
        """Current K-th score of rows lo..hi-1 (+inf for padding rows)."""
        thr = self.scores[lo:hi, self.k - 1].copy()
        thr[max(self.n_real - lo, 0):] = np.inf
        return thr

    def band(self, lo: int, hi: int, thr: np.ndarray) -> np.ndarray:
        """Margins of rows lo..hi-1 at thresholds thr: an entry s may reach a score thr iff s >= thr - band.

        Errors are at most delta_i + rel |s| (delta_i = margin_i / 2): s + delta + rel |s| >= thr - delta - rel |thr|
        <=> s >= f^-1(thr - rel |thr| - 2 delta), f(s) = s + rel |s| increasing. rel = 0: band = margin.
        """
        m = self.margin[lo:hi]
        if not self.rel:
            return m
        t = np.asarray(thr, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            T = t - self.rel * np.abs(t) - m
            low = np.where(T >= 0, T / (1 + self.rel), T / (1 - self.rel))
            return np.where(np.isfinite(t), t - low, m)

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


def _rescore32(lists: _TopK, Y: np.ndarray, sq: np.ndarray | None, n: int, margin32: np.ndarray,
               chunk: int = 1024) -> None:
    """bf16 candidate lists -> float32 ones, in place: every listed entry re-scored with the float32 formula
    (error <= delta32), each row re-sorted by (score desc, index asc), margin -> the float32 one.

    The runner-up (bf16, error <= delta_b + rel |runner|) becomes runner + delta_b + rel |runner| - delta32,
    rounded up: then ``_order_lists``' test runner' >= kth32 - margin32 is runner + delta_b + rel |runner| >=
    kth32 - delta32, i.e. an entry left out of the list may reach the K-th score. So the float64 keys are needed
    only for float32 near-ties.
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
        run = lists.runner[a:b].astype(np.float64)
        with np.errstate(invalid="ignore"):
            up = run + (lists.margin[a:b] - margin32[a:b]) / 2 + lists.rel * np.abs(run)
            up = np.where(np.isneginf(run), -np.inf, up)
        r32 = up.astype(np.float32)
        lists.runner[a:b] = np.where(r32 < up, np.nextafter(r32, np.float32(np.inf)), r32)
    lists.margin, lists.rel = margin32, 0.0
