"""mmwe.neighbors.api: knn and exact_rows against a slow full-matrix oracle (ties included; float32 and bf16
candidates), overlap_counts and the argument errors."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.neighbors import exact_rows, knn, overlap_counts
from tests.neighbors.conftest import data_with_duplicates, oracle_knn

PRECISIONS = ("fp32", "bf16")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("include_self", [False, True])
@pytest.mark.parametrize("seed,n,k,block", [(0, 150, 5, 40), (1, 203, 10, 64), (2, 97, 1, 33), (3, 12, 11, 4096),
                                             (4, 250, 3, 100), (5, 333, 4, 160), (6, 1100, 10, 1100)])
def test_exact_matches_oracle_with_ties(metric, include_self, seed, n, k, block, precision):
    X = data_with_duplicates(seed, n, d=6)
    got = knn(X, k, metric=metric, include_self=include_self, block_size=block, precision=precision)
    assert got.dtype == np.int64 and got.shape == (n, k)
    np.testing.assert_array_equal(got, oracle_knn(X, k, metric, include_self))


@pytest.mark.parametrize("precision", PRECISIONS)
def test_many_duplicates_lower_index_first(precision):
    base = np.random.default_rng(5).standard_normal((6, 4)).astype(np.float32)
    X = np.repeat(base, 9, axis=0)[np.random.default_rng(6).permutation(54)]  # 6 groups of 9 equal rows
    for metric in ("cosine", "euclidean"):
        for include_self in (False, True):
            got = knn(X, 12, metric=metric, include_self=include_self, block_size=20, precision=precision)
            np.testing.assert_array_equal(got, oracle_knn(X, 12, metric, include_self))


@pytest.mark.parametrize("precision", PRECISIONS)
def test_include_self_puts_self_first(precision):
    X = data_with_duplicates(7, 120, 5)
    got = knn(X, 4, include_self=True, block_size=48, precision=precision)
    np.testing.assert_array_equal(got[:, 0], np.arange(120))
    excl = knn(X, 4, block_size=48, precision=precision)
    assert not (excl == np.arange(120)[:, None]).any()


@pytest.mark.parametrize("precision", PRECISIONS)
def test_zero_rows_cosine_like_sklearn(precision):
    X = np.random.default_rng(8).standard_normal((40, 5)).astype(np.float32)
    X[[3, 17]] = 0.0  # cosine with a zero vector is 0: the zero rows tie with everything orthogonal
    np.testing.assert_array_equal(knn(X, 5, block_size=32, precision=precision), oracle_knn(X, 5, "cosine", False))


@pytest.mark.parametrize("precision", PRECISIONS)
def test_dot_metric_is_raw_inner_product(precision):
    X = np.random.default_rng(9).standard_normal((60, 4))
    G = X @ X.T
    np.fill_diagonal(G, -np.inf)
    expect = np.array([np.lexsort((np.arange(60), -g))[:3] for g in G])
    np.testing.assert_array_equal(knn(X, 3, metric="dot", block_size=32, precision=precision), expect)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_exact_rows_matches_full_search(precision):
    X = data_with_duplicates(12, 180, 6)
    rows = np.array([0, 5, 179, 64, 65])
    for metric in ("cosine", "euclidean"):
        np.testing.assert_array_equal(exact_rows(X, rows, 6, metric=metric, chunk=2),
                                      knn(X, 6, metric=metric, block_size=50, precision=precision)[rows])


def test_overlap_counts_vs_sets():
    rng = np.random.default_rng(13)
    A = np.array([rng.choice(50, 6, replace=False) for _ in range(30)])
    B = np.array([rng.choice(50, 6, replace=False) for _ in range(30)])
    expect = [len(set(a) & set(b)) for a, b in zip(A, B)]
    np.testing.assert_array_equal(overlap_counts(A, B, chunk=7), expect)


def test_errors():
    X = np.random.default_rng(14).standard_normal((10, 3))
    with pytest.raises(MmweError, match="k=10 neighbours need at least 11 rows, got 10"):
        knn(X, 10)
    with pytest.raises(MmweError, match="k must be at least 1"):
        knn(X, 0)
    bad = X.copy()
    bad[4, 1] = np.nan
    with pytest.raises(MmweError, match="NaN/inf in row 5"):
        knn(bad, 3)
    with pytest.raises(MmweError, match="expected a 2-D matrix"):
        knn(X[0], 3)
    with pytest.raises(MmweError, match="metric must be one of"):
        knn(X, 3, metric="manhattan")
    with pytest.raises(MmweError, match="backend must be one of"):
        knn(X, 3, backend="annoy")
    with pytest.raises(MmweError, match="expected real numbers"):
        knn(np.array([["a", "b"]] * 5), 2)


def _backend_on_before(device: str, backend: str, ties: str, node: bool) -> str:
    """backend_on as it was before it asked mmwe.devices (the oracle: same backend, same errors)."""
    from mmwe.devices import resolve_device

    if device == "cpu" or (device == "auto" and not node):
        return backend
    resolved = resolve_device(device)
    if device == "cuda" and (backend in ("faiss", "hnsw") or ties == "sklearn"):
        raise MmweError(f"--device cuda runs the exact search (ties index) on the GPU, got --backend {backend} "
                        f"--ties {ties}, which run on the CPU; fix: drop --device cuda or use --backend exact")
    if resolved == "cuda" and backend == "exact" and ties == "index":
        return "torch"
    return backend


def _outcome(fn, *args):
    try:
        return fn(*args)
    except MmweError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("node", [False, True])
def test_backend_on_as_before(node, monkeypatch, tmp_path):
    from mmwe.neighbors import backend_on

    if node:
        pytest.importorskip("torch")  # a device node present: auto asks torch
        (tmp_path / "nvidia0").touch()
    monkeypatch.setattr("mmwe.devices.GPU_NODE", str(tmp_path / "nvidia0"))
    for device in ("auto", "cpu", "cuda", "gpu"):
        for backend in ("exact", "torch", "faiss", "hnsw", "sklearn"):
            for ties in ("index", "sklearn"):
                assert (_outcome(backend_on, device, backend, ties)
                        == _outcome(_backend_on_before, device, backend, ties, node)), (device, backend, ties)
