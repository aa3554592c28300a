"""mmwe.neighbors.approximate: the faiss backend equals the exact search without ties; hnsw's recall on small data."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.neighbors import knn, knn_recall


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_faiss_backend_equals_exact_without_ties(metric):
    X = np.random.default_rng(10).standard_normal((300, 12)).astype(np.float32)
    for include_self in (False, True):
        exact = knn(X, 7, metric=metric, include_self=include_self)
        np.testing.assert_array_equal(knn(X, 7, metric=metric, include_self=include_self, backend="faiss"), exact)


def test_hnsw_recall_high_on_small_data():
    X = np.random.default_rng(11).standard_normal((2000, 16)).astype(np.float32)
    approx = knn(X, 10, backend="hnsw")
    assert approx.shape == (2000, 10)
    assert not (approx == np.arange(2000)[:, None]).any()
    assert knn_recall(X, approx, sample=300) > 0.9
    assert knn_recall(X, knn(X, 10), sample=300) == 1.0
