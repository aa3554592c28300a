"""mNNO, its chance level and permutation null, mutual k-NN and linear CKA against independent oracles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmwe.errors import MmweError
from mmwe.metrics.overlap import chance_overlap, linear_cka, mnno, mnno_report, mutual_knn, permutation_null
from mmwe.neighbors import knn
from tests.neighbors.conftest import data_with_duplicates, oracle_knn


def python_mnno(V, Z, k, metric, include_self) -> float:
    NV, NZ = oracle_knn(V, k, metric, include_self), oracle_knn(Z, k, metric, include_self)
    total = sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(NV, NZ))
    return total / (k * len(V))


def paired(seed: int, n: int = 160, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((n, 6)).astype(np.float32)
    Z = (V @ rng.standard_normal((6, 9)) + noise * rng.standard_normal((n, 9))).astype(np.float32)
    return V, Z


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("include_self", [False, True])
def test_mnno_matches_python_oracle(metric, include_self):
    V = data_with_duplicates(20, 140, 6)
    Z = data_with_duplicates(21, 140, 8)
    Z[:70] += V[:70, :1] * 2  # some shared structure
    assert mnno(V, Z, k=7, metric=metric, include_self=include_self) == pytest.approx(
        python_mnno(V, Z, 7, metric, include_self), abs=1e-12)


def test_known_answers():
    V, _ = paired(22)
    Q, _ = np.linalg.qr(np.random.default_rng(23).standard_normal((6, 6)))
    rotated = (V @ Q * 3.0).astype(np.float32)  # rotation + scaling: cosine neighbours unchanged
    assert mnno(V, rotated, k=5) == 1.0
    assert mnno(V, V @ Q + 7.0, k=5, metric="euclidean") == 1.0  # rotation + translation
    # 5 tight clusters of 5 points: in X point i sits in cluster i // 5, in Y in cluster i % 5, so each
    # point's 4 neighbours in X (its cluster mates) are never its mates in Y, and vice versa
    rng = np.random.default_rng(24)
    i = np.arange(25)
    X = np.eye(5)[i // 5] * 100 + rng.standard_normal((25, 5))
    Y = np.eye(5)[i % 5] * 100 + rng.standard_normal((25, 5))
    assert mnno(X, Y, k=4, metric="euclidean") == 0.0
    assert mnno(X, Y, k=4, metric="euclidean", include_self=True) == pytest.approx(1 / 4)  # only self shared
    assert mnno(X, X[:, ::-1], k=4) == 1.0


@pytest.mark.parametrize("include_self", [False, True])
def test_chance_formula_vs_simulation(include_self):
    n, k, trials = 30, 6, 40000
    rng = np.random.default_rng(25)
    others = np.arange(1, n)  # point 0's possible neighbours
    total = 0
    for _ in range(trials):
        a = set(rng.choice(others, k - include_self, replace=False).tolist())
        b = set(rng.choice(others, k - include_self, replace=False).tolist())
        total += len(a & b) + include_self
    assert total / (trials * k) == pytest.approx(chance_overlap(n, k, include_self), abs=0.005)
    assert chance_overlap(1001, 10) == pytest.approx(0.01)
    assert chance_overlap(11, 10, include_self=True) == pytest.approx((1 + 81 / 10) / 10)


def test_independent_data_sits_at_chance():
    rng = np.random.default_rng(26)
    V, Z = rng.standard_normal((800, 5)), rng.standard_normal((800, 5))
    r = mnno_report(V, Z, k=10, permutations=30, seed=1)
    assert abs(r["mnno"] - r["chance"]) < 0.004
    assert abs(r["null_mean"] - r["chance"]) < 0.003 and r["p_value"] > 0.01


def test_permutation_relabelling_equals_recomputing():
    V, Z = paired(27, n=120)
    NV, NZ = knn(V, 5), knn(Z, 5)
    null = permutation_null(NV, NZ, 6, seed=3)
    rng = np.random.default_rng(3)
    direct = [mnno(V, Z[rng.permutation(120)], k=5) for _ in range(6)]
    np.testing.assert_allclose(null, direct, atol=1e-12)


def test_report_keys_and_p_value():
    V, Z = paired(28, noise=0.3)
    r = mnno_report(V, Z, k=5, metric="cosine", include_self=False, permutations=99, alignment=True)
    for key in ("mnno", "n", "k", "metric", "include_self", "chance", "null_mean", "null_std", "p_value",
                "mutual_knn", "cka"):
        assert key in r
    assert r["n"] == 160 and r["mnno"] > 5 * r["chance"]
    assert r["p_value"] == pytest.approx(1 / 100)  # nothing in the null reaches a strong alignment
    assert r["mutual_knn"] == r["mnno"]


def platonic_mutual_knn(A: np.ndarray, B: np.ndarray, topk: int) -> float:
    """Re-statement of minhuh/platonic-rep mutual_knn: normalise, inner-product kNN minus self, masks."""
    def nn(feats):
        feats = torch.nn.functional.normalize(torch.as_tensor(feats, dtype=torch.float64), dim=-1)
        return (feats @ feats.T).fill_diagonal_(-1e8).argsort(dim=1, descending=True)[:, :topk]

    knn_a, knn_b = nn(A), nn(B)
    n = knn_a.shape[0]
    rows = torch.arange(n).unsqueeze(1)
    mask_a, mask_b = torch.zeros(n, n), torch.zeros(n, n)
    mask_a[rows, knn_a] = 1.0
    mask_b[rows, knn_b] = 1.0
    return ((mask_a * mask_b).sum(dim=1) / topk).mean().item()


def test_mutual_knn_vs_platonic_definition():
    V, Z = paired(29, noise=0.8)  # continuous data: no ties, so argsort's tie order does not matter
    assert mutual_knn(V, Z, 10) == pytest.approx(platonic_mutual_knn(V, Z, 10), abs=1e-6)


def test_linear_cka_vs_gram_formula():
    V, Z = paired(30, n=90)
    H = np.eye(90) - 1 / 90
    K, L = V.astype(np.float64) @ V.T, Z.astype(np.float64) @ Z.T
    hsic = lambda a, b: np.trace(a @ H @ b @ H)  # noqa: E731
    expect = hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))
    assert linear_cka(V, Z) == pytest.approx(expect, rel=1e-9)
    Q, _ = np.linalg.qr(np.random.default_rng(31).standard_normal((6, 6)))
    assert linear_cka(V, 2.5 * V @ Q + 1.0) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(MmweError, match="constant set"):
        linear_cka(V, np.ones((90, 3)))


def test_pair_errors():
    V, Z = paired(32)
    with pytest.raises(MmweError, match="same number of rows: got 160 and 159"):
        mnno(V, Z[:-1])
    with pytest.raises(MmweError, match="need at least 11 rows, got 10"):
        mnno(V[:10], Z[:10], k=10)


def released_mnno(V: np.ndarray, Z: np.ndarray, k: int) -> float:
    """compute_MNNO of gcollell/neural_cross_modal_maps: sklearn brute NearestNeighbors + list overlap."""
    from sklearn.neighbors import NearestNeighbors

    ind = [NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(X).kneighbors(X)[1]
           for X in (V, Z)]
    return float(np.mean([len([j for j in ind[0][i] if j in ind[1][i]]) for i in range(len(V))]) / k)


def _unique_rows(M: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(M, axis=0, return_inverse=True, return_counts=True)
    return counts[inverse.ravel()] == 1


def test_include_self_reproduces_released_code_on_iapr(iapr_dir):
    from mmwe.datasets.paired import load_pair

    A, B, _ = load_pair(iapr_dir / "TS_lang_biGRU.csv", iapr_dir / "TS_vis_vgg128.csv")
    # IAPR has duplicated rows, among which scikit-learn's order is arbitrary: compare on unique rows.
    keep = _unique_rows(A) & _unique_rows(B)
    A, B = A[keep], B[keep]
    assert len(A) == 1916
    assert mnno(A, B, k=10, include_self=True) == released_mnno(A.astype(np.float64), B.astype(np.float64), 10)
    assert mnno(A, B, k=10) < mnno(A, B, k=10, include_self=True)
