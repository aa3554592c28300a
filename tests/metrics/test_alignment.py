"""The Platonic-representation metrics against slow oracles written here from ../shared/specs/alignment-metrics.md:
dense N x N numpy kernels, python loops for the neighbour lists, LCS and Levenshtein, exact fractions where ties
decide; scikit-learn for the CCA. Tie-heavy integer data and duplicated rows throughout."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.metrics.alignment import (
    alignment_report,
    cka,
    cknna,
    cycle_knn,
    edit_distance_knn,
    knn_chance,
    knn_null,
    knn_scores,
    lcs_knn,
    mutual_knn,
    neighbour_lists,
    preprocess,
    svcca,
    unbiased_cka,
)
from mmwe.metrics.overlap import mnno_report, permutation_null
from tests.neighbors.conftest import oracle_knn


# -- oracles ------------------------------------------------------------------------------------------------------
def fraction_lists(X: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Neighbour lists of integer data in exact rational arithmetic: score desc, then index asc, self excluded."""
    rows = [[int(v) for v in r] for r in X]
    n = len(rows)

    def score(i, j):
        dot = sum(a * b for a, b in zip(rows[i], rows[j]))
        if metric == "dot":
            return Fraction(dot)
        # cosine, compared through sign(x.y) (x.y)^2 / (|x|^2 |y|^2): monotone in the cosine, exact
        return Fraction(dot * abs(dot), sum(a * a for a in rows[i]) * sum(b * b for b in rows[j]))
    return np.array([sorted((j for j in range(n) if j != i), key=lambda j: (-score(i, j), j))[:k] for i in range(n)])


def lcs_py(a, b) -> int:
    T = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a)):
        for j in range(len(b)):
            T[i + 1][j + 1] = T[i][j] + 1 if a[i] == b[j] else max(T[i][j + 1], T[i + 1][j])
    return T[-1][-1]


def lev_py(a, b) -> int:
    T = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            T[i][j] = min(T[i - 1][j] + 1, T[i][j - 1] + 1, T[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return T[-1][-1]


def knn_oracle(NA, NB) -> dict:
    n, k = NA.shape
    a, b = NA.tolist(), NB.tolist()
    return {"mutual_knn": sum(len(set(a[i]) & set(b[i])) for i in range(n)) / (n * k),
            "cycle_knn": sum(any(i in a[j] for j in b[i]) for i in range(n)) / n,
            "lcs_knn": sum(lcs_py(a[i], b[i]) for i in range(n)) / n,
            "edit_distance_knn": 1 - sum(lev_py(a[i], b[i]) for i in range(n)) / (n * k)}


def hsic_biased(K, L):
    n = len(K)
    if n > 300:  # the same trace in O(N^2): H K H is K double-centred
        return np.sum((K - K.mean(axis=0) - K.mean(axis=1)[:, None] + K.mean()) * L.T)
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H)


def hsic_unbiased(K, L):
    n = len(K)
    Kt, Lt = K.copy(), L.copy()
    np.fill_diagonal(Kt, 0)
    np.fill_diagonal(Lt, 0)
    KtLt = Kt.sum(axis=0) @ Lt.sum(axis=1) if n > 300 else np.sum(Kt @ Lt)  # 1ᵀ K~ L~ 1, O(N^2) for large N
    value = (np.sum(Kt * Lt.T) + Kt.sum() * Lt.sum() / ((n - 1) * (n - 2)) - 2 * KtLt / (n - 2))
    return value / (n * (n - 3))


def ratio(f, K, L):
    return f(K, L) / (np.sqrt(f(K, K) * f(L, L)) + 1e-6)


def rbf(X, sigma=1.0):
    D = ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)
    return np.exp(-D / (2 * sigma**2))


def cknna_oracle(A, B, NA, NB):
    n = len(A)
    K, L = A @ A.T, B @ B.T
    MK, ML = np.zeros((n, n)), np.zeros((n, n))
    MK[np.arange(n)[:, None], NA] = 1
    ML[np.arange(n)[:, None], NB] = 1
    M = MK * ML
    s = hsic_unbiased
    return s(M * K, M * L) / (np.sqrt(s(MK * K, MK * K) * s(ML * L, ML * L)) + 1e-6)


def int_data(seed, n, d, dup=0.3):
    """Small integers (many exact ties in both scores), a fraction of rows duplicated, no zero row."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(n, d))
    X[X.sum(axis=1) == 0, 0] = 3
    X[np.abs(X).sum(axis=1) == 0] = 1
    m = int(dup * n)
    X[rng.integers(0, n, m)] = X[rng.integers(0, n, m)]
    return X.astype(np.float64)


def paired(seed, n=120, dA=8, dB=11, noise=0.7):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, dA))
    return A, A @ rng.standard_normal((dA, dB)) + noise * rng.standard_normal((n, dB))


# -- kNN metrics --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["cosine", "dot"])
@pytest.mark.parametrize("seed,n,k", [(0, 40, 5), (1, 55, 10), (2, 30, 3), (3, 25, 2)])
def test_knn_metrics_with_ties_match_exact_oracle(metric, seed, n, k):
    A, B = int_data(seed, n, 4), int_data(seed + 100, n, 3)
    NA, NB = fraction_lists(A, k, metric), fraction_lists(B, k, metric)
    np.testing.assert_array_equal(neighbour_lists(A, B, k, metric)[0], NA)  # mmwe's tie rule: lower index
    expect = knn_oracle(NA, NB)
    got = alignment_report(A, B, k=k, metric=metric)
    for name, fn in (("mutual_knn", mutual_knn), ("cycle_knn", cycle_knn), ("lcs_knn", lcs_knn),
                     ("edit_distance_knn", edit_distance_knn)):
        assert got[name] == pytest.approx(expect[name], abs=1e-12), name
        assert fn(A, B, k, metric=metric) == pytest.approx(expect[name], abs=1e-12), name
    assert got["cknna"] == pytest.approx(cknna_oracle(A, B, NA, NB), rel=1e-9, abs=1e-12)
    assert cknna(A, B, k, metric=metric) == pytest.approx(got["cknna"], rel=1e-12, abs=1e-15)


def test_tie_order_matters_for_ordered_metrics():
    """Why the tie rule is stated: duplicated rows tied inside a list change LCS / edit distance, not overlap."""
    base = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    A = base[[0, 1, 1, 2, 3, 3]]  # rows 1, 2 equal; rows 4, 5 equal
    B = A.copy()
    NA, NB = neighbour_lists(A, B, 3)
    assert NA[0].tolist() == [1, 2, 4]  # the tied duplicates 1, 2: lower index first
    swapped = NB.copy()
    swapped[0, :2] = swapped[0, 1::-1]  # what an unstable argsort may return for row 0
    ours, theirs = knn_scores(NA, NB), knn_scores(NA, swapped)
    assert ours["mutual_knn"] == theirs["mutual_knn"] and ours["cycle_knn"] == theirs["cycle_knn"]
    assert theirs["lcs_knn"] < ours["lcs_knn"] and theirs["edit_distance_knn"] < ours["edit_distance_knn"]


def test_known_answers():
    A, B = paired(3)
    r = alignment_report(A, A.copy(), k=6)
    assert (r["mutual_knn"], r["cycle_knn"], r["lcs_knn"], r["edit_distance_knn"]) == (1.0, 1.0, 6.0, 1.0)
    for name in ("cka", "unbiased_cka", "cknna", "svcca"):
        assert r[name] == pytest.approx(1.0, abs=1e-6), name
    Q = np.linalg.qr(np.random.default_rng(4).standard_normal((8, 8)))[0]
    r = alignment_report(A, 3.0 * A @ Q, k=6)  # a rotation and a scale: cosine neighbours and linear CKA agree
    assert r["mutual_knn"] == 1.0 and r["cka"] == pytest.approx(1.0, abs=1e-9)


# -- kernel metrics -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed,n", [(0, 30), (1, 57), (2, 8)])
@pytest.mark.parametrize("ints", [False, True])
def test_linear_cka_and_unbiased_match_dense_formulas(seed, n, ints):
    A, B = (int_data(seed, n, 5), int_data(seed + 7, n, 3)) if ints else paired(seed, n)
    K, L = A @ A.T, B @ B.T
    assert cka(A, B) == pytest.approx(ratio(hsic_biased, K, L), rel=1e-9)
    assert unbiased_cka(A, B) == pytest.approx(ratio(hsic_unbiased, K, L), rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_rbf_cka_matches_dense_kernel(sigma, monkeypatch):
    import mmwe.metrics.alignment_kernels as ak

    monkeypatch.setattr(ak, "_RBF_BLOCK", 7)  # several blocks, a ragged last one
    A, B = paired(5, n=45, noise=1.5)
    A = np.vstack([A, A[:5]])  # duplicated rows: zero distances off the diagonal
    B = np.vstack([B, B[:5]])
    K, L = rbf(A, sigma), rbf(B, sigma)
    assert cka(A, B, kernel="rbf", sigma=sigma) == pytest.approx(ratio(hsic_biased, K, L), rel=1e-9)
    assert unbiased_cka(A, B, kernel="rbf", sigma=sigma) == pytest.approx(ratio(hsic_unbiased, K, L), rel=1e-8)


def test_svcca_matches_reference_pipeline_and_classical_cca():
    from sklearn.cross_decomposition import CCA

    A, B = paired(6, n=300, dA=20, dB=25, noise=2.0)

    def top(X):  # the reference's preprocessing, then a full SVD
        X = (X - X.mean(axis=0)) / (X.std(axis=0, ddof=1) + 1e-8)
        return np.linalg.svd(X, full_matrices=False)[0][:, :10]
    UA, UB = top(A), top(B)
    XA, XB = CCA(n_components=10).fit(UA, UB).transform(UA, UB)
    expect = np.mean([np.corrcoef(XA[:, c], XB[:, c])[0, 1] for c in range(10)])
    assert svcca(A, B, method="sklearn") == pytest.approx(expect, abs=1e-9)
    # classical CCA: the canonical correlations are the singular values of Q_Aᵀ Q_B (centred bases)
    QA, QB = np.linalg.qr(UA - UA.mean(0))[0], np.linalg.qr(UB - UB.mean(0))[0]
    assert svcca(A, B) == pytest.approx(np.linalg.svd(QA.T @ QB, compute_uv=False).mean(), abs=1e-9)
    assert svcca(A, B) == pytest.approx(expect, abs=2e-3)  # scikit-learn's NIPALS stops near the exact values
    with pytest.raises(MmweError, match="CCA method"):
        svcca(A, B, method="nipals")


def test_svcca_exact_equals_sklearn_on_iapr(iapr):
    A, B = iapr[:2]
    assert svcca(A, B) == pytest.approx(svcca(A, B, method="sklearn"), abs=1e-6)


# -- preprocessing ------------------------------------------------------------------------------------------------
def test_preprocess_matches_loop_oracle():
    X = (np.random.default_rng(7).standard_normal((20, 9)) * np.arange(1, 21)[:, None]).astype(np.float32)
    X[3] = 0.0
    q = 0.95
    levels = []
    for r in np.abs(X.astype(np.float64)):
        s = sorted(r)
        pos = q * (len(s) - 1)
        lo = int(pos)
        levels.append(s[lo] + (pos - lo) * (s[min(lo + 1, len(s) - 1)] - s[lo]))
    v = sum(levels) / len(levels)
    clipped = [[min(max(x, -v), v) for x in r] for r in X.astype(np.float64)]
    expect = [[x / max(sum(y * y for y in r) ** 0.5, 1e-12) for x in r] for r in clipped]
    got = preprocess(X, clip_quantile=q, l2_normalize=True)
    assert got.dtype == np.float32 and not np.shares_memory(got, X)
    np.testing.assert_allclose(got, expect, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(preprocess(X, clip_quantile=q), clipped, rtol=1e-6)
    assert preprocess(X) is X
    with pytest.raises(MmweError, match=r"expected the clip quantile in \(0.0, 1.0\], got 1.5"):
        preprocess(X, clip_quantile=1.5)


# -- chance and null ----------------------------------------------------------------------------------------------
def test_null_relabelling_equals_recomputing_and_matches_mnno_null():
    A, B = paired(8, n=150)
    NA, NB = neighbour_lists(A, B, 5)
    null = knn_null(NA, NB, 4, seed=3)
    rng = np.random.default_rng(3)
    for p in range(4):
        perm = rng.permutation(150)
        again = knn_scores(*neighbour_lists(A, B[perm], 5))
        for name, value in again.items():
            assert null[name][p] == pytest.approx(value, abs=1e-12), name
    np.testing.assert_array_equal(null["mutual_knn"], permutation_null(NA, NB, 4, seed=3))


@pytest.mark.parametrize("n,k", [(40, 5), (200, 10), (15, 6)])
def test_chance_levels_vs_simulation(n, k):
    """Chance levels against random lists (independent uniform ordered K-subsets of the other rows)."""
    rng = np.random.default_rng(n)
    NA = fraction_lists(int_data(n, n, 4), k, "cosine")
    draws = 3000
    sims = {name: 0.0 for name in ("mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn")}
    for _ in range(draws // n + 1):
        NB = np.array([rng.permutation(np.delete(np.arange(n), i))[:k] for i in range(n)])
        for name, value in knn_oracle(NA, NB).items():
            sims[name] += value / (draws // n + 1)
    chance = knn_chance(NA)
    assert chance["mutual_knn"] == pytest.approx(k / (n - 1))
    for name, value in sims.items():
        assert chance[name] == pytest.approx(value, abs=0.02 * max(1.0, k * (name == "lcs_knn"))), name


def test_report_null_keys_and_p_values():
    A, B = paired(9, n=200, noise=0.3)
    r = alignment_report(A, B, k=8, permutations=49, seed=1)
    for name in ("mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn"):
        assert r[f"{name}_p_value"] == pytest.approx(1 / 50), name  # strongly aligned: nothing in the null reaches it
        assert r[f"{name}_null_mean"] == pytest.approx(r[f"{name}_chance"], abs=4 * r[f"{name}_null_std"] + 1e-3)
    rng = np.random.default_rng(2)
    r0 = alignment_report(A, rng.standard_normal((200, 11)), k=8, permutations=49, seed=1)
    assert r0["mutual_knn"] < 3 * r0["mutual_knn_chance"] and r0["mutual_knn_p_value"] > 0.01


def test_mnno_report_reuses_lists_and_agrees():
    A, B = paired(10, n=90)
    r = mnno_report(A, B, k=5, permutations=19, alignment=True)
    assert r["mutual_knn"] == r["mnno"] and r["mutual_knn_null_mean"] == r["null_mean"]
    assert r["mutual_knn_p_value"] == r["p_value"]
    alone = alignment_report(A, B, k=5, permutations=19)
    for name in ("cycle_knn", "lcs_knn", "edit_distance_knn", "cka", "unbiased_cka", "cknna", "svcca"):
        assert r[name] == alone[name], name
    r_eu = mnno_report(A, B, k=5, metric="euclidean", alignment=True)  # alignment still ranks by cosine
    assert r_eu["mutual_knn"] == alone["mutual_knn"] and r_eu["knn_metric"] == "cosine"


def test_errors():
    A, B = paired(11, n=30)
    with pytest.raises(MmweError, match="cknna needs k >= 2"):
        cknna(A, B, 1)
    with pytest.raises(MmweError, match="same number of rows"):
        cka(A, B[:-1])
    with pytest.raises(MmweError, match="kernel"):
        cka(A, B, kernel="poly")
    with pytest.raises(MmweError, match="sigma > 0"):
        cka(A, B, kernel="rbf", sigma=0.0)
    with pytest.raises(MmweError, match="cca_dim"):
        svcca(A, B, cca_dim=9)
    with pytest.raises(MmweError, match="at least 4 rows"):
        unbiased_cka(A[:3], B[:3])


# -- real data ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def iapr(iapr_dir):
    from mmwe.datasets.paired import load_pair

    A, B, _ = load_pair(iapr_dir / "TS_lang_biGRU.csv", iapr_dir / "TS_vis_vgg128.csv")
    A, B = np.asarray(A, np.float64), np.asarray(B, np.float64)
    # cosine lists do not depend on row norms: one oracle search serves the raw and the normalised test
    return A, B, oracle_knn(A, 10, "cosine", False), oracle_knn(B, 10, "cosine", False)


@pytest.mark.parametrize("l2", [False, True])
def test_iapr_all_metrics_vs_dense_oracle(iapr, l2):
    """IAPR TC-12 (1,962 pairs, duplicated rows): every metric against the dense oracle, raw and L2-normalised."""
    A, B = (preprocess(X, l2_normalize=l2) for X in iapr[:2])
    NA, NB = iapr[2:]
    r = alignment_report(A, B, k=10)
    expect = knn_oracle(NA, NB)
    for name, value in expect.items():
        assert r[name] == pytest.approx(value, abs=1e-12), name
    K, L = A @ A.T, B @ B.T
    assert r["cka"] == pytest.approx(ratio(hsic_biased, K, L), rel=1e-9)
    assert r["unbiased_cka"] == pytest.approx(ratio(hsic_unbiased, K, L), rel=1e-7)
    assert r["cknna"] == pytest.approx(cknna_oracle(A, B, NA, NB), rel=1e-7)
    assert r["mutual_knn"] == pytest.approx(0.0816, abs=5e-5)  # mNNO^10 without self (docs/usage.md)
    assert r["cka"] == pytest.approx(0.398 if l2 else 0.349, abs=5e-4)
