"""Shared by the tests of mmwe.neighbors (and of the metrics built on it): slow reference searches (a full-matrix
oracle, exact integer keys, float64 summed one dimension at a time) and data with duplicated rows."""

from __future__ import annotations

import math

import numpy as np


def oracle_knn(X: np.ndarray, k: int, metric: str, include_self: bool) -> np.ndarray:
    """Full distance matrix in float64 + lexsort (distance, index); self first when included.

    Entries are accumulated one dimension at a time (no BLAS), so identical rows get bit-identical
    distances and exact ties stay ties.
    """
    Y = np.asarray(X, dtype=np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(Y, axis=1, keepdims=True)
        Y = Y / np.where(norms == 0, 1, norms)
        D = -sum(Y[:, t, None] * Y[None, :, t] for t in range(Y.shape[1]))
    else:
        D = sum((Y[:, t, None] - Y[None, :, t]) ** 2 for t in range(Y.shape[1]))
    n = len(Y)
    out = np.empty((n, k), dtype=np.int64)
    for i in range(n):
        d = D[i].copy()
        d[i] = -np.inf if include_self else np.inf
        out[i] = np.lexsort((np.arange(n), d))[:k]
    return out


def data_with_duplicates(seed: int, n: int, d: int, frac: float = 0.25) -> np.ndarray:
    """Gaussian rows, a fraction of them overwritten by copies of others (exact ties), float32."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    m = int(frac * n)
    X[rng.integers(0, n, m)] = X[rng.integers(0, n, m)]
    return X


# -- the exact reference: Python integers, lower index first ---------------------------------------------
def exact_keys(X: np.ndarray, metric: str) -> np.ndarray:
    """(N, N) integer keys, larger = nearer, exact for integer data.

    Cosine is compared as sign(x.y) (x.y)^2 / (|x|^2 |y|^2): within row x the factor 1/|x|^2 is common, and
    1/|y|^2 becomes an integer over the least common multiple of all |y|^2, so no division is ever rounded.
    """
    A = np.asarray(X, dtype=np.int64)
    assert np.array_equal(A, X), "the reference needs integer data"
    G = A @ A.T  # exact int64 dot products
    sq = np.diag(G).copy()
    if metric == "dot":
        return G
    if metric == "euclidean":
        return 2 * G - sq[:, None] - sq[None, :]  # -|x - y|^2
    lcm = math.lcm(*[int(v) for v in set(sq.tolist()) if v])
    over = np.array([lcm // int(v) if v else 0 for v in sq], dtype=np.int64)  # lcm / |y|^2; zero rows score 0
    return np.sign(G) * G * G * over[None, :]


def reference_knn(X: np.ndarray, k: int, metric: str, include_self: bool) -> np.ndarray:
    """Each row's k nearest by (exact key desc, index asc); with include_self the row itself first."""
    keys = exact_keys(X, metric)
    n = len(X)
    out = np.empty((n, k), dtype=np.int64)
    for i in range(n):
        others = np.delete(np.arange(n), i)
        ranked = others[np.lexsort((others, -keys[i, others]))]
        out[i] = np.concatenate([[i], ranked[: k - 1]]) if include_self else ranked[:k]
    return out


def float64_reference_knn(X: np.ndarray, k: int, metric: str, include_self: bool) -> np.ndarray:
    """Float data: float64 scores summed one dimension at a time (duplicated rows score bit-identically)."""
    Y = np.asarray(X, dtype=np.float64)
    if metric == "euclidean":
        S = -sum((Y[:, t, None] - Y[None, :, t]) ** 2 for t in range(Y.shape[1]))
    else:
        S = sum(Y[:, t, None] * Y[None, :, t] for t in range(Y.shape[1]))
        if metric == "cosine":
            sq = np.diag(S).copy()
            S = S * np.abs(S) / np.outer(sq, sq)
    n = len(X)
    out = np.empty((n, k), dtype=np.int64)
    for i in range(n):
        s = S[i].copy()
        s[i] = np.inf if include_self else -np.inf
        out[i] = np.lexsort((np.arange(n), -s))[:k]
    return out
