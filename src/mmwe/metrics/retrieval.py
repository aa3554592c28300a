"""Retrieval metrics for cross-modal maps: what the mapped vectors are *used* for, measured beside mNNO.

A query (a mapped vector f(x)) ranks every candidate of the target modality by a score (cosine similarity).
Everything here is a pure function of arrays and returns plain floats / dicts with their coverage.

Ties are broken the same way everywhere (and as in ``mmwe.neighbors.knn``): among equal scores the candidate
with the lower index ranks first. Ranks are 1-based.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmwe.errors import MmweError
from mmwe.validation import check_matrix


def cosine_scores(Q: np.ndarray, D: np.ndarray) -> np.ndarray:
    """(nq, nd) cosine similarities between the rows of ``Q`` (nq, d) and ``D`` (nd, d); zero rows score 0."""
    Q = np.asarray(Q, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    if Q.ndim != 2 or D.ndim != 2 or Q.shape[1] != D.shape[1]:
        raise MmweError(f"expected two 2-D arrays with the same number of columns, got {Q.shape} and {D.shape}")
    qn = np.linalg.norm(Q, axis=1, keepdims=True)
    dn = np.linalg.norm(D, axis=1, keepdims=True)
    return (Q / np.where(qn == 0, 1, qn)) @ (D / np.where(dn == 0, 1, dn)).T


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based rank of candidate ``targets[i]`` in row ``i`` of ``scores`` (nq, nd), ties to the lower index."""
    scores = _check_scores(scores)
    targets = np.asarray(targets, dtype=np.int64)
    if targets.shape != (scores.shape[0],) or (targets < 0).any() or (targets >= scores.shape[1]).any():
        raise MmweError(f"expected one target index in [0, {scores.shape[1]}) per query, got shape {targets.shape}")
    rows = np.arange(scores.shape[0])
    own = scores[rows, targets][:, None]  # (nq, 1)
    before = np.arange(scores.shape[1])[None, :] < targets[:, None]  # candidates that win a tie
    return 1 + (scores > own).sum(axis=1) + ((scores == own) & before).sum(axis=1)


def topk_accuracy(scores: np.ndarray, targets: np.ndarray, ks: Sequence[int] = (1, 5)) -> dict:
    """Fraction of queries whose target candidate is among the top k, for each k (keys ``top1``, ``top5``...)."""
    ranks = target_ranks(scores, targets)
    out = {f"top{k}": float(np.mean(ranks <= k)) for k in ks}
    out.update(n=int(ranks.size), candidates=int(scores.shape[1]), median_rank=float(np.median(ranks)))
    return out


def recall_at_k(scores: np.ndarray, ks: Sequence[int] = (1, 5, 10)) -> dict:
    """R@k of the paired item: query ``i`` should retrieve candidate ``i`` (square ``scores``).

    Keys ``r@1``, ``r@5``... plus ``n`` (queries) and ``median_rank``.
    """
    scores = _check_scores(scores)
    if scores.shape[0] != scores.shape[1]:
        raise MmweError(f"paired retrieval needs as many queries as candidates, got scores of shape {scores.shape}")
    ranks = target_ranks(scores, np.arange(scores.shape[0]))
    out = {f"r@{k}": float(np.mean(ranks <= k)) for k in ks}
    out.update(n=int(ranks.size), median_rank=float(np.median(ranks)))
    return out


def label_relevance(labels_q: Sequence[frozenset], labels_d: Sequence[frozenset]) -> np.ndarray:
    """(nq, nd) bool: query and candidate are relevant to each other when their label sets intersect."""
    vocab = {lab: i for i, lab in enumerate(sorted({lab for s in (*labels_q, *labels_d) for lab in s}))}

    def multi_hot(label_sets: Sequence[frozenset]) -> np.ndarray:
        m = np.zeros((len(label_sets), max(len(vocab), 1)), dtype=np.float32)
        for r, s in enumerate(label_sets):
            m[r, [vocab[lab] for lab in s]] = 1.0
        return m

    return (multi_hot(labels_q) @ multi_hot(labels_d).T) > 0


def average_precision(scores: np.ndarray, relevant: np.ndarray, *, chunk: int = 1024) -> np.ndarray:
    """(nq,) average precision of each query over the full ranking; NaN for a query with no relevant item.

    AP = mean, over the relevant candidates, of the precision at the rank of that candidate.
    """
    scores = _check_scores(scores)
    relevant = np.asarray(relevant, dtype=bool)
    if relevant.shape != scores.shape:
        raise MmweError(f"relevance must have the shape of the scores {scores.shape}, got {relevant.shape}")
    nd = scores.shape[1]
    precision_den = np.arange(1, nd + 1, dtype=np.float64)  # (nd,)
    out = np.empty(scores.shape[0], dtype=np.float64)
    for s in range(0, scores.shape[0], chunk):  # chunks keep the (chunk, nd) temporaries small
        order = np.argsort(-scores[s : s + chunk], axis=1, kind="stable")  # ties: lower index first
        rel = np.take_along_axis(relevant[s : s + chunk], order, axis=1)  # (c, nd) relevance in rank order
        hits = np.cumsum(rel, axis=1)
        n_rel = hits[:, -1].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s : s + chunk] = (rel * (hits / precision_den)).sum(axis=1) / n_rel
    return out


def mean_average_precision(scores: np.ndarray, relevant: np.ndarray) -> dict:
    """mAP over the queries that have at least one relevant candidate; keys map, queries, skipped."""
    ap = average_precision(scores, relevant)
    used = ~np.isnan(ap)
    return {
        "map": float(ap[used].mean()) if used.any() else float("nan"),
        "queries": int(used.sum()),
        "skipped": int((~used).sum()),
    }


_SCORES = "expected a non-empty (queries x candidates) score matrix, got shape {shape}"
_SCORE_MESSAGES = {"ndim": _SCORES, "rows": _SCORES, "cols": _SCORES}  # check_matrix wording for scores


def _check_scores(scores: np.ndarray) -> np.ndarray:
    return check_matrix(scores, name="scores", dtype=None, finite=False, messages=_SCORE_MESSAGES)
