"""mmwe.neighbors.knn_graph: the K-NN graph of the maps' ``graph`` loss, checked against the exact search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from mmwe.neighbors import knn, knn_graph  # noqa: E402


def test_maps_use_the_graph_of_mmwe_neighbors():
    import mmwe.maps
    import mmwe.maps.train

    assert mmwe.maps.knn_graph is knn_graph and mmwe.maps.train.knn_graph is knn_graph


def test_small_inputs_cap_k_and_exclude_self():
    assert knn_graph(torch.zeros((1, 3)), 5).shape == (1, 0)
    assert knn_graph(torch.zeros((0, 3)), 5).shape == (0, 0)
    Y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
    assert knn_graph(Y, 9).tolist() == [[2, 1], [2, 0], [0, 1]]  # known by hand: cos(0,2) > cos(1,2) > cos(0,1)


def test_iapr_graph_is_an_exact_top_k_up_to_float32_ties(iapr_dir):
    """Where the graph differs from knn (ties -> lower index), both lists hold the same float64 scores up to
    float32 rounding: only (near-)tied rows are ordered differently."""
    Y = pd.read_csv(iapr_dir / "TS_lang_biGRU.csv", header=None).iloc[:, 1:].to_numpy(np.float32)
    G = knn_graph(torch.from_numpy(Y), 10, block=500).numpy()  # several blocks
    K = knn(Y, 10, metric="cosine")
    U = Y.astype(np.float64) / np.linalg.norm(Y.astype(np.float64), axis=1, keepdims=True)
    rows = np.nonzero((G != K).any(axis=1))[0]
    assert len(rows) < 0.1 * len(Y)
    assert not (G == np.arange(len(Y))[:, None]).any()
    for i in rows:
        np.testing.assert_allclose(U[G[i]] @ U[i], U[K[i]] @ U[i], rtol=0, atol=1e-6)
