"""Retrieval metrics for cross-modal maps: what the mapped vectors are *used* for, measured beside mNNO.

A query (a mapped vector f(x)) ranks every candidate of the target modality by a score (cosine similarity).
Everything here is a pure function of arrays and returns plain floats / dicts with their coverage.

Ties are broken the same way everywhere (and as in ``mmwe.neighbors.knn``): among equal scores the candidate
with the lower index ranks first. Ranks are 1-based.

Hubness reduction (a few candidates, "hubs", are the nearest neighbour of many queries) re-scores the cosines
before ranking; every ranking function here takes those scores as it takes cosines:

* CSLS (Conneau et al. 2018, MUSE; vecmap's ``--retrieval csls``): CSLS(q, d) = 2 cos(q, d) - r_D(q) - r_Q(d),
  where r_D(q) is the mean cosine of q to its ``k`` most similar candidates and r_Q(d) the mean cosine of d to
  its ``k`` most similar queries (k = 10, MUSE's and vecmap's default; capped at the other set's size).
* inverted softmax (Smith et al. 2017; vecmap's ``--retrieval invsoftmax``): p(d | q) = exp(beta cos(q, d)) /
  sum over all queries q' of exp(beta cos(q', d)), ranked by its logarithm. ``beta`` defaults to 1, vecmap's
  ``--inv_temperature`` default; Smith et al. fit beta on the training dictionary (by maximum likelihood), so
  pass the fitted value where one is available.
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


CSLS_K = 10  # neighbours in CSLS's hubness penalties (MUSE and vecmap)
INV_SOFTMAX_BETA = 1.0  # inverse temperature of the inverted softmax (vecmap's default --inv_temperature)
_BLOCK = 1024  # rows per block of the penalty and re-scoring passes: temporaries stay O(block x candidates)


def _unit_rows(A: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(A, axis=1, keepdims=True)
    return A / np.where(n == 0, 1, n)


def topk_mean_similarity(A: np.ndarray, B: np.ndarray, k: int = CSLS_K, *, block: int = _BLOCK) -> np.ndarray:
    """(nA,) mean cosine of each row of ``A`` to its ``min(k, nB)`` most similar rows of ``B`` (CSLS's r).

    Blocked over the rows of A: memory O(block x nB), never (nA, nB). The mean of the k largest values does not
    depend on how ties among them are broken.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1] or not len(B):
        raise MmweError(f"expected two 2-D arrays with the same number of columns, got {A.shape} and {B.shape}")
    return _row_topk_mean(_unit_rows(A), _unit_rows(B).T, k, block)


def _row_topk_mean(A: np.ndarray, Bt: np.ndarray | None, k: int, block: int, S: np.ndarray | None = None):
    """Top-k mean per row of ``A @ Bt`` (or of the given matrix ``S``), ``block`` rows at a time."""
    if int(k) < 1:
        raise MmweError(f"expected k >= 1 neighbours for the hubness penalty, got {k}")
    n, m = (S.shape if S is not None else (A.shape[0], Bt.shape[1]))
    k = min(int(k), m)
    out = np.empty(n, dtype=np.float64)
    for s in range(0, n, block):
        T = S[s:s + block] if S is not None else A[s:s + block] @ Bt  # (b, m)
        out[s:s + block] = np.partition(T, m - k, axis=1)[:, m - k:].mean(axis=1)  # the k largest, (b,)
    return out


def csls_penalties(S: np.ndarray, k: int = CSLS_K, *, block: int = _BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """(r_q (nq,), r_d (nd,)) of a cosine matrix ``S`` (nq, nd): each row's and each column's top-k mean."""
    S = _check_scores(S)
    r_q = _row_topk_mean(None, None, k, block, S=S)
    r_d = np.empty(S.shape[1], dtype=np.float64)
    for s in range(0, S.shape[1], block):  # columns in blocks: a (nq, b) slice transposed, never all of S.T
        r_d[s:s + block] = _row_topk_mean(None, None, k, block, S=np.ascontiguousarray(S[:, s:s + block].T))
    return r_q, r_d


def csls_from_cosines(S: np.ndarray, k: int = CSLS_K, *, out: np.ndarray | None = None,
                      block: int = _BLOCK) -> np.ndarray:
    """CSLS scores 2 S - r_q[:, None] - r_d[None, :] of a cosine matrix ``S`` (nq, nd) (MUSE's formula).

    ``out=S`` re-scores in place (no second (nq, nd) matrix); the penalties are taken from S first.
    """
    S = _check_scores(S)
    r_q, r_d = csls_penalties(S, k, block=block)
    if out is None:
        out = np.empty(S.shape, dtype=np.float64)
    for s in range(0, S.shape[0], block):
        blk = 2.0 * S[s:s + block]  # (b, nd)
        blk -= r_q[s:s + block, None]
        blk -= r_d[None, :]
        out[s:s + block] = blk
    return out


def csls_scores(Q: np.ndarray, D: np.ndarray, k: int = CSLS_K) -> np.ndarray:
    """(nq, nd) CSLS scores between the rows of ``Q`` (queries) and ``D`` (candidates); see the module doc."""
    return csls_from_cosines(cosine_scores(Q, D), k, out=None)


def inverted_softmax_from_cosines(S: np.ndarray, beta: float = INV_SOFTMAX_BETA, *, out: np.ndarray | None = None,
                                  block: int = _BLOCK) -> np.ndarray:
    """log p(d | q) = beta S[q, d] - log sum_q' exp(beta S[q', d]) of a cosine matrix ``S`` (nq, nd).

    The log of vecmap's ``exp(beta S) / partition``: the same ranking, without overflow at large beta (the
    column's maximum is factored out of its sum). ``out=S`` re-scores in place.
    """
    S = _check_scores(S)
    if not (np.isfinite(beta) and beta > 0):
        raise MmweError(f"expected an inverse temperature beta > 0, got {beta}")
    top = S.max(axis=0)  # (nd,)
    total = np.zeros(S.shape[1], dtype=np.float64)
    for s in range(0, S.shape[0], block):
        total += np.exp(beta * (S[s:s + block] - top)).sum(axis=0)
    log_partition = beta * top + np.log(total)  # (nd,)
    if out is None:
        out = np.empty(S.shape, dtype=np.float64)
    for s in range(0, S.shape[0], block):
        blk = beta * S[s:s + block]
        blk -= log_partition[None, :]
        out[s:s + block] = blk
    return out


def inverted_softmax_scores(Q: np.ndarray, D: np.ndarray, beta: float = INV_SOFTMAX_BETA) -> np.ndarray:
    """(nq, nd) inverted-softmax log scores between the rows of ``Q`` and ``D``; see the module doc."""
    return inverted_softmax_from_cosines(cosine_scores(Q, D), beta)


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


def first_relevant_ranks(scores: np.ndarray, relevant: np.ndarray, *, block: int = _BLOCK) -> np.ndarray:
    """(nq,) 1-based rank of the best-ranked relevant candidate of each query (ties to the lower index); 0 for a
    query with no relevant candidate. With one relevant candidate per query it is ``target_ranks``."""
    scores = _check_scores(scores)
    relevant = np.asarray(relevant, dtype=bool)
    if relevant.shape != scores.shape:
        raise MmweError(f"relevance must have the shape of the scores {scores.shape}, got {relevant.shape}")
    out = np.zeros(scores.shape[0], dtype=np.int64)
    cols = np.arange(scores.shape[1])
    for s in range(0, scores.shape[0], block):
        S, R = scores[s:s + block], relevant[s:s + block]  # (b, nd)
        has = R.any(axis=1)
        best = np.where(R, S, -np.inf).max(axis=1, initial=-np.inf)[:, None]  # (b, 1) best relevant score
        first = np.argmax(R & (S == best), axis=1)[:, None]  # its lowest index: the one that ranks first
        rank = 1 + (S > best).sum(axis=1) + ((S == best) & (cols[None, :] < first)).sum(axis=1)
        out[s:s + block] = np.where(has, rank, 0)
    return out


def precision_at_k(scores: np.ndarray, relevant: np.ndarray, ks: Sequence[int] = (1, 5, 10)) -> dict:
    """P@k as MUSE scores word translation with several correct translations: the share of queries with at least
    one relevant candidate among their top k. Keys ``p@1``, ``p@5``...; queries with no relevant candidate are
    left out and counted (``skipped``). With one relevant candidate per query, P@k is R@k."""
    ranks = first_relevant_ranks(scores, relevant)
    used = ranks > 0
    out = {f"p@{k}": float(np.mean(ranks[used] <= k)) if used.any() else float("nan") for k in ks}
    out.update(queries=int(used.sum()), skipped=int((~used).sum()))
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
