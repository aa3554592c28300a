"""Mean nearest-neighbour overlap (mNNO) and related alignment scores of two paired representations.

mNNO^K(V, Z) = 1/(K N) * sum_i |NN_K(v_i) ∩ NN_K(z_i)|, where row i of V is paired with row i of Z and NN_K
comes from `mmwe.neighbors.knn` (Collell & Moens 2018, "Do neural network cross-modal mappings really bridge
modalities?"). ``include_self=False`` (default) follows the paper's definition (neighbours are other points);
``include_self=True`` counts each point as its own first neighbour, as the released code does. ``ties="index"``
(default) orders exactly, ties -> lower index; ``ties="sklearn"`` runs the released code's scikit-learn search,
which reproduces its numbers bit for bit (it breaks ties at the K-th place among duplicated rows its own way).

Also here: the chance level of mNNO and a permutation null (shuffle the pairing). ``mutual_knn`` and
``linear_cka`` live in ``mmwe.metrics.alignment`` with the other Platonic-representation metrics (imported here
too). Everything is a pure function of arrays returning floats or a plain dict.
"""

from __future__ import annotations

import numpy as np

from mmwe.datasets.paired import load_pair
from mmwe.errors import MmweError
from mmwe.metrics.alignment import (  # noqa: F401 (linear_cka, mutual_knn: re-exported)
    alignment_report,
    check_preprocessing,
    linear_cka,
    mutual_knn,
    preprocess,
)
from mmwe.metrics.config import MnnoRun
from mmwe.neighbors import Backend, Metric, Precision, Ties, check_knn_input, knn_many, knn_recall, overlap_counts
from mmwe.progress import Progress
from mmwe.validation import check_paired


def chance_overlap(n: int, k: int, include_self: bool = False) -> float:
    """Expected mNNO of two independent random neighbour lists over n points.

    Excluding self, each list is a uniform K-subset of the N-1 other points, and two independent ones share
    K*K/(N-1) points on average: chance = K/(N-1). Including self, both lists hold the point itself plus a
    uniform (K-1)-subset of the others: chance = (1 + (K-1)^2/(N-1)) / K.
    """
    if k < 1 or n <= k:
        raise MmweError(f"chance level needs 1 <= k < n, got k={k}, n={n}")
    if include_self:
        return (1.0 + (k - 1) ** 2 / (n - 1)) / k
    return k / (n - 1)


def _check_pair(V: np.ndarray, Z: np.ndarray, k: int | None) -> tuple[np.ndarray, np.ndarray]:
    V, Z = check_knn_input(V, k, name="first set"), check_knn_input(Z, k, name="second set")
    return check_paired(V, Z, names=("first set", "second set"), dtype=None, min_rows=0, min_cols=0, finite=False)


def overlap_score(NV: np.ndarray, NZ: np.ndarray) -> float:
    """mNNO from two (N, K) neighbour-index arrays."""
    return float(overlap_counts(NV, NZ).sum() / NV.size)


def mnno(V: np.ndarray, Z: np.ndarray, *, k: int = 10, metric: Metric = "cosine", include_self: bool = False,
         backend: Backend = "exact", ties: Ties = "index", precision: Precision = "auto") -> float:
    """mNNO^K of the paired sets V (N, d1) and Z (N, d2); see the module docstring."""
    V, Z = _check_pair(V, Z, k)
    opts = dict(metric=metric, include_self=include_self, backend=backend, ties=ties, precision=precision)
    return overlap_score(*knn_many([V, Z], k, **opts))


def permutation_null(NV: np.ndarray, NZ: np.ndarray, permutations: int, *, seed: int = 0,
                     progress: Progress | None = None) -> np.ndarray:
    """mNNO of V against Z with its rows shuffled, ``permutations`` times, from the unshuffled lists.

    Shuffling Z's rows (Z' = Z[perm]) only relabels its neighbour lists: NN_Z'(i) = perm^-1(NN_Z(perm(i))),
    so no search is repeated. (Exact ties keep Z's original index order rather than being re-broken.)
    """
    rng = np.random.default_rng(seed)
    n = len(NV)
    null = np.empty(permutations)
    for p in range(permutations):
        perm = rng.permutation(n)
        inv = np.empty(n, dtype=np.int64)
        inv[perm] = np.arange(n)
        null[p] = overlap_score(NV, inv[NZ[perm]])
        if progress:
            progress(p + 1, permutations, "permutations")
    return null


def mnno_report(V: np.ndarray, Z: np.ndarray, *, k: int = 10, metric: Metric = "cosine",
                include_self: bool = False, permutations: int = 0, seed: int = 0, backend: Backend = "exact",
                ties: Ties = "index", alignment: bool = False, kernel: str = "linear", rbf_sigma: float = 1.0,
                precision: Precision = "auto", world=None,
                progress: Progress | None = None) -> dict:
    """mNNO with its context: keys mnno, n, k, metric, include_self, backend, ties, chance, ratio_to_chance,
    overlap_std (per-point overlap fraction); with ``permutations`` > 0 also null_mean, null_std, p_value
    (one-sided, (1 + #null >= observed) / (1 + permutations)); with ``backend="hnsw"`` also recall (recall@K
    of both sets' lists against exact search, 1000 rows).

    ``progress(done, total, what)`` follows the neighbour search (what = "neighbour search", block pairs of
    both searches) and then the shuffles (what = "permutations"). ``precision`` (fp32, bf16, auto): the exact
    search's candidate GEMMs, the same lists; ``world`` (``mmwe.lm.ddp.World``): the search split over the ranks
    of torchrun (``mmwe.neighbors.knn_many``), the same result on every rank.

    ``alignment=True`` (off by default: computed only when asked) adds ``mmwe.metrics.alignment.alignment_report``
    (mutual_knn, cycle_knn, lcs_knn, edit_distance_knn with chance levels and, with ``permutations``, their nulls;
    cka and unbiased_cka with ``kernel`` / ``rbf_sigma``, cknna, svcca). Its kNN metrics reuse the mNNO lists when
    they are its lists (cosine, self excluded, ties="index", exact or torch backend), otherwise it runs a second
    pair of exact cosine searches, as long as the mNNO search itself.
    """
    V, Z = _check_pair(V, Z, k)
    opts = dict(metric=metric, include_self=include_self, backend=backend, ties=ties, precision=precision)
    NV, NZ = knn_many([V, Z], k, progress=progress, world=world, **opts)  # world: split over torchrun's ranks
    per_point = overlap_counts(NV, NZ) / k
    n = len(V)
    out = {"mnno": float(per_point.mean()), "n": n, "k": k, "metric": metric, "include_self": include_self,
           "backend": backend, "ties": ties, "chance": chance_overlap(n, k, include_self)}
    out["ratio_to_chance"] = out["mnno"] / out["chance"]
    out["overlap_std"] = float(per_point.std())
    if backend == "hnsw":
        recalls = [knn_recall(X, L, metric=metric, include_self=include_self, seed=seed) for X, L in ((V, NV), (Z, NZ))]
        out["recall"] = float(np.mean(recalls))
    if permutations > 0:
        null = permutation_null(NV, NZ, permutations, seed=seed, progress=progress)
        out.update(permutations=permutations, null_mean=float(null.mean()), null_std=float(null.std(ddof=1))
                   if permutations > 1 else 0.0, p_value=float((1 + (null >= out["mnno"]).sum()) / (1 + permutations)))
    if alignment:
        same = metric == "cosine" and not include_self and backend in ("exact", "torch") and ties == "index"
        out.update(alignment_report(V, Z, k=k, kernel=kernel, sigma=rbf_sigma, permutations=permutations, seed=seed,
                                    lists=(NV, NZ) if same else None))
    return out


def mnno_inputs(cfg: MnnoRun) -> tuple[np.ndarray, np.ndarray]:
    """The two sets of ``cfg`` read, checked and pre-processed (clip, L2): every input error before any search (and
    before torch). The row names are not kept (60 MB at 1M)."""
    check_preprocessing(cfg.clip_quantile, cfg.rbf_sigma)
    A, B = load_pair(cfg.a, cfg.b, unicode_errors=cfg.unicode_errors)[:2]
    return tuple(preprocess(X, clip_quantile=cfg.clip_quantile, l2_normalize=cfg.l2_normalize, name=path)
                 for X, path in ((A, cfg.a), (B, cfg.b)))


def mnno_result(cfg: MnnoRun, A: np.ndarray, B: np.ndarray, *, backend: Backend, world=None,
                progress: Progress | None = None) -> dict:
    """`mnno_report` of ``cfg`` on the sets of `mnno_inputs` (``backend``: ``mmwe.neighbors.backend_on``'s), with
    the files and the pre-processing."""
    report = mnno_report(A, B, k=cfg.k, metric=cfg.metric, include_self=cfg.include_self, seed=cfg.seed,
                         permutations=cfg.permutations, backend=backend, ties=cfg.ties, alignment=cfg.alignment,
                         kernel=cfg.kernel, rbf_sigma=cfg.rbf_sigma, precision=cfg.precision, world=world,
                         progress=progress)
    return {"a": cfg.a, "b": cfg.b, **report, "l2_normalize": cfg.l2_normalize, "clip_quantile": cfg.clip_quantile}
