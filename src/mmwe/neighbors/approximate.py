"""Backends that are not ``ties="index"``-exact: scikit-learn's brute search (the released procedure), faiss flat
(exact distances, its own tie order) and faiss HNSW (approximate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from mmwe.errors import MmweError
from mmwe.neighbors.scoring import _scoring_rows, _threads


@dataclass
class HnswConfig:
    """Parameters of the approximate ``"hnsw"`` backend (faiss ``IndexHNSWFlat``)."""

    m: int = 32  # graph degree: more = better recall, more memory and build time
    ef_construction: int = 200  # candidate list while building the graph
    ef_search: int = 128  # candidate list while searching (raised to 4*K when smaller)


def _knn_sklearn(X: np.ndarray, k: int, metric: str, include_self: bool) -> np.ndarray:
    """Collell & Moens' released procedure: scikit-learn brute kNN on the fitted set (see the docstring)."""
    from sklearn.neighbors import NearestNeighbors

    with threadpool_limits(_threads()):  # BLAS and OpenMP: scikit-learn's chunking follows its thread count
        nn = NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute").fit(X)
        ind = nn.kneighbors(X)[1] if include_self else nn.kneighbors()[1]  # as the released code calls it
    return np.asarray(ind, dtype=np.int64)


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
