"""The exact backend: the blocked symmetric candidate search (float32 or bf16 GEMMs, ``_TopK`` running lists),
then the exact order (``mmwe.neighbors.rescore``). ``share`` = (rank, world) runs one rank's part of the block pairs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np

from mmwe.neighbors.rescore import _KeyContext, _order_lists, _rescore32, _resolve_rows, _TopK
from mmwe.neighbors.scoring import (
    _POOL,
    _ROWS_CELLS,
    _SPARE,
    _SPARE_BF16,
    SEARCH,
    _bf16_rel,
    _lowered,
    _margins,
    _scoring_rows,
)
from mmwe.progress import Progress


class _Gemm:
    """Score blocks ``Y[lo_i:hi_i] Y[lo_j:hi_j]^T`` into float32 buffers: numpy's BLAS in float32, or (bf16) torch
    on the rows rounded to bf16 (oneDNN's bf16 kernels; the bf16 product is widened into the buffer). The bf16 rows
    are rounded block by block (the I block kept while its J blocks pass): no second N x d copy (600 MB at 1M x
    300), for (bi + bj) d conversions per bi bj d multiply-adds."""

    def __init__(self, Y: np.ndarray, precision: str, cells: int):
        self.Y, self.torch, self.rows_i = Y, None, (-1, -1, None)
        if precision == "bf16":
            import torch

            self.torch = torch
            self.out = torch.empty(cells, dtype=torch.bfloat16)  # one bf16 product block

    def _bf16(self, lo: int, hi: int):
        return self.torch.from_numpy(self.Y[lo:hi]).to(self.torch.bfloat16)  # rounded to nearest even

    def __call__(self, lo_i: int, hi_i: int, lo_j: int, hi_j: int, S: np.ndarray) -> None:
        if self.torch is None:
            np.matmul(self.Y[lo_i:hi_i], self.Y[lo_j:hi_j].T, out=S)  # float32 GEMM (numpy's BLAS was the faster)
            return
        if self.rows_i[:2] != (lo_i, hi_i):
            self.rows_i = (lo_i, hi_i, self._bf16(lo_i, hi_i))
        out = self.out[:S.size].view(S.shape)
        self.torch.mm(self.rows_i[2], self._bf16(lo_j, hi_j).T, out=out)  # bf16 in, float32 sums, bf16 out
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


def _row_candidates(S: np.ndarray, kth: np.ndarray, band: Callable[[np.ndarray], np.ndarray],
                    k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local row, local column, score) of the entries of S within ``band(K-th)`` of their row's K-th score.

    Column group g holds the strided columns g, g + bj/P, g + 2 bj/P, ...: pooling them is a vertical max
    of P contiguous vectors, several times faster than reducing P adjacent entries.
    """
    bi, bj = S.shape
    w = bj // _POOL
    pooled = S.reshape(bi, _POOL, w).max(axis=1)  # (bi, bj/P) group maxima: P vertical vector maxima
    thr = _tighten(kth, pooled, k, 1)
    thr = _lowered(thr, band(thr))
    r, g = np.nonzero(pooled >= thr[:, None])
    vals = S.reshape(bi, _POOL, w)[r, :, g]  # (h, P)
    keep = (vals >= thr[r][:, None]) & (vals > -np.inf)
    cols = g[:, None] + np.arange(_POOL) * w
    return np.repeat(r, keep.sum(1)), cols[keep], vals[keep]


def _col_candidates(S: np.ndarray, kth: np.ndarray, band: Callable[[np.ndarray], np.ndarray],
                    k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local column, local row, score) of the entries of S within ``band(K-th)`` of their column's K-th score."""
    bi, bj = S.shape
    pooled = S.reshape(bi // _POOL, _POOL, bj).max(axis=1)  # (bi/P, bj) group maxima
    thr = _tighten(kth, pooled, k, 0)
    thr = _lowered(thr, band(thr))
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
        r, c, v = _row_candidates(S, lists.kth(lo, hi), partial(lists.band, lo, hi), k)
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
                     margin: np.ndarray, block_size: int, progress: Progress | None,
                     precision: str = "fp32", share: tuple[int, int] = (0, 1), rel: float = 0.0) -> _TopK:
    """The blocked symmetric search (see the module docstring): lists of K + spare candidates (this rank's
    share of the block pairs only, when ``share`` = (rank, world) splits them)."""
    n_pad = len(Y)
    diag, off = _tiles(n_pad, max(block_size, 4 * (k + 2)), k)
    biggest = max([(hi - lo) ** 2 for lo, hi in diag] + [(b - a) * (d - c) for a, b, c, d in off])
    diag, off = _my_tiles(diag, off, share)
    buf = np.empty(biggest, dtype=np.float32)
    gemm = _Gemm(Y, precision, biggest)
    lists = _TopK(n_pad, k, _SPARE_BF16 if precision == "bf16" else _SPARE, n, margin, rel)
    total = len(diag) + len(off)
    for done, (lo, hi) in enumerate(diag, start=1):  # diagonal squares first: they seed every threshold
        _seed_diagonal(_block_scores(gemm, sq, lo, hi, lo, hi, buf, n), lists, lo, hi, k, include_self)
        if progress:
            progress(done, total, SEARCH)
    for done, (lo_i, hi_i, lo_j, hi_j) in enumerate(off, start=len(diag) + 1):
        S = _block_scores(gemm, sq, lo_i, hi_i, lo_j, hi_j, buf, n)
        r, c, v = _row_candidates(S, lists.kth(lo_i, hi_i), partial(lists.band, lo_i, hi_i), k)  # I vs J
        lists.merge(r + lo_i, c + lo_j, v)
        c, r, v = _col_candidates(S, lists.kth(lo_j, hi_j), partial(lists.band, lo_j, hi_j), k)  # J vs I
        lists.merge(c + lo_j, r + lo_i, v)
        if progress:
            progress(done, total, SEARCH)
    return lists


def _exact_lists(X: np.ndarray, k: int, metric: str, include_self: bool, block_size: int,
                 progress: Progress | None, precision: str,
                 share: tuple[int, int] = (0, 1)) -> tuple[np.ndarray, np.ndarray | None, _TopK]:
    """(Y, sq, candidate lists) of the exact backend's search (this rank's share of it)."""
    n = len(X)
    n_pad = math.ceil(n / _POOL) * _POOL
    Y, sq = _scoring_rows(X, metric, n_pad)  # (n_pad, d): padding rows are zero, their scores set to -inf
    margin, rel = _margins(Y, sq, metric, n, precision), _bf16_rel(metric, precision)
    return Y, sq, _candidate_lists(Y, sq, n, k, include_self, margin, block_size, progress, precision, share, rel)


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
               progress: Progress | None = None, precision: str = "fp32") -> np.ndarray:
    """The exact backend: blocked float32 (or bf16) candidate search + float64 ordering (module docstring)."""
    Y, sq, lists = _exact_lists(X, k, metric, include_self, block_size, progress, precision)
    return _exact_order(X, Y, sq, lists, k, metric, include_self, block_size, precision)
