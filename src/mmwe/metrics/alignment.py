"""The Platonic-representation alignment metrics of two paired sets (Huh et al. 2024, minhuh/platonic-rep).

Definitions: ``../shared/specs/alignment-metrics.md``. JSON names: ``mutual_knn``, ``cycle_knn``, ``lcs_knn``,
``edit_distance_knn`` (here, from the two sets' neighbour lists), ``cka``, ``unbiased_cka``, ``cknna``, ``svcca``
(``mmwe.metrics.alignment_kernels``). ``alignment_report`` computes all of them with a permutation null for the
kNN metrics; ``preprocess`` is the reference pipeline's optional clipping and row L2-normalisation.

Neighbours. N_A(i) = the K rows j != i nearest to row i, nearest first, from mmwe's exact search
(``mmwe.neighbors.knn_many``, ties -> lower index). The reference ranks by inner products of L2-normalised rows,
i.e. by cosine; ``metric="cosine"`` (default) gives exactly that order whether or not the rows were normalised
(cosine ignores row norms), so the kNN metrics do not change with ``l2_normalize``; ``metric="dot"`` ranks by raw
inner products. CKNNA's masks are the same lists (its kernel values are the inner products of the given rows).

Ties. The reference sorts with ``torch.argsort(descending=True)``, which is not stable: among exactly tied scores
(duplicated rows, which IAPR TC-12 has) its order is unspecified and may change between runs and devices. mmwe
orders ties by the lower index. Where that matters: ``mutual_knn``, ``cycle_knn`` and ``cknna`` only when a tie
group straddles the K-th place (which of the tied rows get in); ``lcs_knn`` and ``edit_distance_knn`` whenever
tied rows sit anywhere in a list, because these two read the order within the lists.

Null and chance. Shuffling the pairing (B' = B[perm]) only relabels B's lists,
N_B'(i) = perm⁻¹(N_B(perm(i))), so the null repeats no search (as ``mmwe.metrics.overlap.permutation_null``;
the same seed gives the same shuffles, so mutual_knn's null equals mNNO's). The chance levels are the expected
values when every N_B(i) is an independent uniformly random ordered K-subset of the other rows: mutual_knn
K/(N-1); cycle_knn mean_i 1 - C(N-1-r_i, K)/C(N-1, K), r_i = how many lists of A hold i; lcs_knn and
edit_distance_knn Σ_m P(m) E[score | m common entries], P hypergeometric, E exact for m <= 1 and by exhaustive
enumeration (or ``_CHANCE_DRAWS`` seeded draws where that is too large) of the positions of the m common entries;
terms with P(m) < 1e-9 are left out.
"""

from __future__ import annotations

import functools
import math
from itertools import combinations, permutations

import numpy as np

from mmwe.errors import MmweError
from mmwe.metrics.alignment_kernels import (
    CcaMethod,
    Grams,
    Kernel,
    as_pair,
    cka,
    cknna_from_lists,
    kernel_scores,
    linear_cka,
    svcca,
    unbiased_cka,
)
from mmwe.neighbors import Metric, knn_many, overlap_counts
from mmwe.progress import Progress
from mmwe.validation import check_k, check_matrix, check_range

KNN_METRICS = ("mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn")
KERNEL_METRICS = ("cka", "unbiased_cka", "cknna", "svcca")
_CHUNK = 65536  # rows per (chunk, K, K) comparison block
_CHANCE_CONFIGS = 10_000  # exact enumeration of common-entry positions up to this many configurations
_CHANCE_DRAWS = 20_000  # seeded draws beyond it
__all__ = ["KNN_METRICS", "KERNEL_METRICS", "alignment_report", "check_preprocessing", "cka", "cknna", "cycle_knn",
           "edit_distance_knn", "knn_chance", "knn_scores", "lcs_knn", "linear_cka", "mutual_knn", "preprocess",
           "svcca", "unbiased_cka"]


# -- preprocessing ---------------------------------------------------------------------------------------------
def check_preprocessing(clip_quantile: float | None, sigma: float = 1.0) -> None:
    """Reject a clip quantile outside (0, 1] or an RBF width <= 0 before any data is read."""
    if clip_quantile is not None:
        check_range("the clip quantile", clip_quantile, 0.0, 1.0, lo_open=True, fix="e.g. 0.95, as platonic-rep")
    if not sigma > 0:
        raise MmweError(f"expected an RBF width sigma > 0, got {sigma}")


def preprocess(X: np.ndarray, *, clip_quantile: float | None = None, l2_normalize: bool = False,
               name: str = "matrix") -> np.ndarray:
    """The reference pipeline's optional preprocessing of one set, in this order.

    ``clip_quantile`` q: v = mean over rows of the q-quantile of |row| (linear interpolation, as
    ``torch.quantile``); every entry clamped to [-v, v]. ``l2_normalize``: each row divided by max(|row|, 1e-12)
    (``torch.nn.functional.normalize``: zero rows stay zero). Computed in float64, returned in X's float type
    (float32 stays float32). X itself is not modified.
    """
    X = check_matrix(X, name=name, dtype=None)
    out_type = np.result_type(X.dtype, np.float32)
    if clip_quantile is None and not l2_normalize:
        return X
    Y = np.array(X, dtype=np.float64)
    check_preprocessing(clip_quantile)
    if clip_quantile is not None:
        v = float(np.quantile(np.abs(Y), clip_quantile, axis=1).mean())
        np.clip(Y, -v, v, out=Y)
    if l2_normalize:
        Y /= np.maximum(np.linalg.norm(Y, axis=1, keepdims=True), 1e-12)
    return Y.astype(out_type, copy=False)


# -- kNN metrics from neighbour lists ----------------------------------------------------------------------------
def _lcs(eq: np.ndarray) -> np.ndarray:
    """Longest common subsequence lengths from (m, K, K) match tables eq[r, a, b] = (list_A[a] == list_B[b])."""
    m, k, _ = eq.shape
    prev = np.zeros((m, k + 1), dtype=np.int64)
    for a in range(k):
        cur = np.zeros_like(prev)
        for b in range(k):
            cur[:, b + 1] = np.where(eq[:, a, b], prev[:, b] + 1, np.maximum(prev[:, b + 1], cur[:, b]))
        prev = cur
    return prev[:, k]


def _levenshtein(eq: np.ndarray) -> np.ndarray:
    """Levenshtein distances (insert, delete, substitute: cost 1) from (m, K, K) match tables."""
    m, k, _ = eq.shape
    prev = np.broadcast_to(np.arange(k + 1), (m, k + 1)).copy()
    for a in range(k):
        cur = np.empty_like(prev)
        cur[:, 0] = a + 1
        for b in range(k):
            cur[:, b + 1] = np.minimum(np.minimum(prev[:, b + 1], cur[:, b]) + 1, prev[:, b] + ~eq[:, a, b])
        prev = cur
    return prev[:, k]


def knn_scores(NA: np.ndarray, NB: np.ndarray) -> dict[str, float]:
    """The four kNN metrics from two (N, K) neighbour-index lists (rows: distinct entries, self excluded).

    A row with no common entry has LCS 0 and Levenshtein K (K substitutions), so the dynamic programmes run
    only on rows with at least one common entry.
    """
    n, k = NA.shape
    common, lcs, lev, cyc = 0, 0, n * k, 0
    for s in range(0, n, _CHUNK):
        a, b = NA[s:s + _CHUNK], NB[s:s + _CHUNK]
        eq = a[:, :, None] == b[:, None, :]  # (c, K, K)
        common += int(eq.sum())
        some = eq.any(axis=(1, 2))
        if some.any():
            lcs += int(_lcs(eq[some]).sum())
            lev += int(_levenshtein(eq[some]).sum()) - k * int(some.sum())
        own = np.arange(s, s + len(a))[:, None, None]
        cyc += int((NA[b] == own).any(axis=(1, 2)).sum())  # i in N_A(j) for some j in N_B(i)
    return {"mutual_knn": common / (n * k), "cycle_knn": cyc / n, "lcs_knn": lcs / n,
            "edit_distance_knn": 1.0 - lev / (n * k)}


@functools.lru_cache(maxsize=64)
def _given_common(k: int, m: int, seed: int) -> tuple[float, float]:
    """(E[LCS], E[Levenshtein]) of two length-K lists of distinct entries that share m of them."""
    eq = _common_positions(k, m, np.random.default_rng([seed, k, m]))
    return float(_lcs(eq).mean()), float(_levenshtein(eq).mean())


def _common_positions(k: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """(c, K, K) match tables of two length-K lists sharing m entries at uniformly random positions and pairing:
    every configuration once when there are at most ``_CHANCE_CONFIGS`` (exact), else ``_CHANCE_DRAWS`` draws."""
    if math.comb(k, m) ** 2 * math.factorial(m) <= _CHANCE_CONFIGS:
        configs = [(p, q, s) for p in combinations(range(k), m) for q in combinations(range(k), m)
                   for s in permutations(range(m))]
        P = np.array([c[0] for c in configs]).reshape(len(configs), m)
        Q = np.array([[c[1][t] for t in c[2]] for c in configs]).reshape(len(configs), m)
    else:
        P = np.sort(rng.random((_CHANCE_DRAWS, k)).argsort(axis=1)[:, :m], axis=1)
        Q = rng.random((_CHANCE_DRAWS, k)).argsort(axis=1)[:, :m]  # random positions in a random pairing
    eq = np.zeros((len(P), k, k), dtype=bool)
    eq[np.arange(len(P))[:, None], P, Q] = True
    return eq


def knn_chance(NA: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Expected kNN metrics when B's lists are independent uniformly random ordered K-subsets of the other rows
    (see the module docstring); NA gives the in-degrees that cycle_knn's chance needs."""
    n, k = NA.shape
    if n - 1 <= k:
        raise MmweError(f"chance levels need k < N - 1, got k={k}, N={n}")
    indeg = np.bincount(NA.ravel(), minlength=n)
    miss = np.ones(n)  # C(N-1-r, K) / C(N-1, K) as a product, 0 once a factor is <= 0
    for t in range(k):
        miss *= np.clip((n - 1 - indeg - t) / (n - 1 - t), 0.0, None)
    total = math.comb(n - 1, k)
    lcs, lev = 0.0, 0.0
    for m in range(k + 1):
        p = math.comb(k, m) * math.comb(n - 1 - k, k - m) / total  # hypergeometric
        if p < 1e-9:  # adds < 1e-9 K: below any printed digit
            continue
        if m == 0:
            lev += p * k
            continue
        e_lcs, e_lev = _given_common(k, m, seed)
        lcs += p * e_lcs
        lev += p * e_lev
    return {"mutual_knn": k / (n - 1), "cycle_knn": float(1 - miss.mean()), "lcs_knn": float(lcs),
            "edit_distance_knn": float(1 - lev / k)}


def knn_null(NA: np.ndarray, NB: np.ndarray, permutations: int, *, seed: int = 0,
             progress: Progress | None = None) -> dict[str, np.ndarray]:
    """The four kNN metrics with B's rows shuffled, ``permutations`` times, from the unshuffled lists."""
    rng = np.random.default_rng(seed)
    n = len(NA)
    null = {name: np.empty(permutations) for name in KNN_METRICS}
    for p in range(permutations):
        perm = rng.permutation(n)  # the same draws as overlap.permutation_null with the same seed
        inv = np.empty(n, dtype=np.int64)
        inv[perm] = np.arange(n)
        for name, value in knn_scores(NA, inv[NB[perm]]).items():
            null[name][p] = value
        if progress:
            progress(p + 1, permutations, "permutations")
    return null


def neighbour_lists(A: np.ndarray, B: np.ndarray, k: int, metric: Metric = "cosine") -> tuple[np.ndarray, ...]:
    """Exact (N, k) lists of both sets, self excluded, ties -> lower index."""
    A, B = as_pair(A, B)
    check_k(k, len(A), name="first set")
    return tuple(knn_many([A, B], k, metric=metric, include_self=False))


def _knn_metric(name: str, A: np.ndarray, B: np.ndarray, k: int, metric: Metric) -> float:
    return knn_scores(*neighbour_lists(A, B, k, metric))[name]


def mutual_knn(A: np.ndarray, B: np.ndarray, k: int = 10, *, metric: Metric = "cosine") -> float:
    """1/N Σ_i |N_A(i) ∩ N_B(i)| / K (= mNNO^K, self excluded)."""
    A, B = as_pair(A, B)
    check_k(k, len(A), name="first set")
    return float(overlap_counts(*knn_many([A, B], k, metric=metric, include_self=False)).sum() / (len(A) * k))


def cycle_knn(A: np.ndarray, B: np.ndarray, k: int = 10, *, metric: Metric = "cosine") -> float:
    """1/N Σ_i 1[i ∈ N_A(j) for some j ∈ N_B(i)]."""
    return _knn_metric("cycle_knn", A, B, k, metric)


def lcs_knn(A: np.ndarray, B: np.ndarray, k: int = 10, *, metric: Metric = "cosine") -> float:
    """1/N Σ_i LCS(N_A(i), N_B(i)): the mean longest common subsequence of the ordered lists, in [0, K]."""
    return _knn_metric("lcs_knn", A, B, k, metric)


def edit_distance_knn(A: np.ndarray, B: np.ndarray, k: int = 10, *, metric: Metric = "cosine") -> float:
    """1 - 1/N Σ_i Lev(N_A(i), N_B(i)) / K (Levenshtein distance of the ordered lists)."""
    return _knn_metric("edit_distance_knn", A, B, k, metric)


def cknna(A: np.ndarray, B: np.ndarray, k: int = 10, *, metric: Metric = "cosine") -> float:
    """CKNNA (unbiased) with the masks of the K nearest other rows (see ``alignment_kernels``)."""
    NA, NB = neighbour_lists(A, B, k, metric)
    return cknna_from_lists(A, B, NA, NB)


# -- everything at once ------------------------------------------------------------------------------------------
def alignment_report(A: np.ndarray, B: np.ndarray, *, k: int = 10, metric: Metric = "cosine",
                     kernel: Kernel = "linear", sigma: float = 1.0, cca_dim: int = 10, cca: CcaMethod = "exact",
                     permutations: int = 0,
                     seed: int = 0, lists: tuple[np.ndarray, np.ndarray] | None = None,
                     progress: Progress | None = None) -> dict:
    """All eight metrics of the (already preprocessed) paired sets A, B, as a flat dict.

    ``lists``: the two sets' (N, k) neighbour lists when the caller already has them (self excluded, ties ->
    lower index, ranked by ``metric``), else they are searched here. Keys: the eight JSON names; ``{name}_chance``
    for the kNN metrics; with ``permutations`` > 0 also ``{name}_null_mean``, ``_null_std`` and ``_p_value``
    (one-sided, (1 + #null >= observed) / (1 + permutations)); plus n, k, knn_metric, kernel, rbf_sigma (RBF
    only), cca_dim (the one used: at most the smaller width of the two sets), cca (``svcca``'s method).
    ``progress(done, total, "permutations")`` follows the shuffles.
    """
    A, B = as_pair(A, B, min_rows=4)
    n = len(A)
    check_k(k, n, name="first set")
    if permutations < 0:
        raise MmweError(f"expected permutations >= 0, got {permutations}")
    NA, NB = lists if lists is not None else neighbour_lists(A, B, k, metric)
    if NA.shape != (n, k) or NB.shape != (n, k):
        raise MmweError(f"expected neighbour lists of shape ({n}, {k}), got {NA.shape} and {NB.shape}")
    out: dict = {"n": n, "k": k, "knn_metric": metric, **knn_scores(NA, NB)}
    grams = Grams(A, B)  # the three d x d products, shared by the linear CKAs and SVCCA
    out.update(kernel_scores(A, B, kernel=kernel, sigma=sigma, grams=grams))
    out["cknna"] = cknna_from_lists(A, B, NA, NB)
    cca_dim = min(cca_dim, A.shape[1], B.shape[1], n - 1)  # narrower sets: as many components as they have
    out["svcca"] = svcca(A, B, cca_dim=cca_dim, method=cca, grams=grams)
    out.update(kernel=kernel, cca_dim=cca_dim, cca=cca, **({"rbf_sigma": sigma} if kernel == "rbf" else {}))
    out.update({f"{name}_chance": value for name, value in knn_chance(NA, seed=seed).items()})
    if permutations > 0:
        null = knn_null(NA, NB, permutations, seed=seed, progress=progress)
        for name in KNN_METRICS:
            values = null[name]
            out[f"{name}_null_mean"] = float(values.mean())
            out[f"{name}_null_std"] = float(values.std(ddof=1)) if permutations > 1 else 0.0
            out[f"{name}_p_value"] = float((1 + (values >= out[name]).sum()) / (1 + permutations))
    return out
