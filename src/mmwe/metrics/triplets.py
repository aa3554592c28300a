"""Phrase-triplet accuracy (Mao et al. 2016, Sec. 5): does the base phrase sit closer to the positive?

A phrase vector is the average of its word vectors. A triplet (base, positive, negative) is correct when the
cosine distance base-positive is strictly smaller than base-negative; the score is the fraction correct over the
*covered* triplets (every phrase has at least one known word). Uncovered triplets are counted, not scored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mmwe.corpus.tokenize import tokenize
from mmwe.datasets.triplets import TripletSet, load_triplets
from mmwe.errors import MmweError
from mmwe.metrics.config import TripletRun
from mmwe.metrics.stats import bootstrap_ci, mcnemar


def phrase_matrix(
    phrases: Sequence[Sequence[str]], lookup: Callable[[Sequence[str]], np.ndarray], matrix: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Average the (raw, as in the paper) word vectors of each phrase, ignoring unknown words.

    ``lookup(words) -> row indices (-1 unknown)``; ``matrix`` (V, D) is what the rows index into.
    Returns (P, D) phrase vectors and a (P,) bool mask of phrases with at least one known word.
    """
    dim = matrix.shape[1]
    out = np.zeros((len(phrases), dim), dtype=np.float64)
    known = np.zeros(len(phrases), dtype=bool)
    for p, words in enumerate(phrases):
        idx = lookup(words)
        idx = idx[idx >= 0]
        if idx.size:
            out[p] = matrix[idx].mean(axis=0)
            known[p] = True
    return out, known


def cosine_distance_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine distance; a zero vector has distance 1 to everything (similarity 0)."""
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    denom = np.where((na == 0) | (nb == 0), 1.0, na * nb)
    return 1.0 - np.einsum("ij,ij->i", a, b) / denom


def triplet_outcomes(base: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """(T,) bool: cosine distance(base, pos) < cosine distance(base, neg), strictly (a tie is wrong)."""
    return cosine_distance_rows(base, pos) < cosine_distance_rows(base, neg)


def triplet_accuracy(correct: np.ndarray, covered: np.ndarray) -> dict:
    """Accuracy over covered triplets, with coverage counts.

    ``correct`` and ``covered`` are (T,) bool arrays over all triplets of a dataset.
    """
    correct = np.asarray(correct, dtype=bool)
    covered = np.asarray(covered, dtype=bool)
    if correct.shape != covered.shape:
        raise ValueError("correct and covered must have the same shape")
    n_cov = int(covered.sum())
    if n_cov == 0:
        raise MmweError("no triplet is covered: every triplet has a phrase with no known word; check the vocabulary")
    return {
        "accuracy": float(correct[covered].mean()),
        "triplets": int(covered.size),
        "covered": n_cov,
        "not_covered": int(covered.size - n_cov),
    }


# -- evaluation of a vector set on a triplet set ------------------------------------------------------------
def outcomes(vectors, tset: TripletSet) -> tuple[np.ndarray, np.ndarray]:
    """(correct, covered) (T,) bool arrays over all triplets, for one vector set (phrases by the one tokenizer)."""
    phrases = sorted({p for t in tset.triplets for p in t})
    pid = {p: i for i, p in enumerate(phrases)}
    P, known = phrase_matrix([tokenize(p) for p in phrases], vectors.indices, vectors.matrix)
    b, q, n = (np.array([pid[t[j]] for t in tset.triplets]) for j in range(3))
    covered = known[b] & known[q] & known[n]
    return triplet_outcomes(P[b], P[q], P[n]) & covered, covered


def evaluate_triplets(vectors, tset: TripletSet, *, ci: bool = True, n_boot: int = 1000, seed: int = 0) -> dict:
    """The paper's triplet accuracy with coverage and (optionally) a bootstrap 95% CI over covered triplets."""
    correct, covered = outcomes(vectors, tset)
    out = {"dataset": tset.name, **triplet_accuracy(correct, covered)}
    if ci:
        c = correct[covered].astype(np.float64)
        out["ci_low"], out["ci_high"] = bootstrap_ci(lambda idx: float(c[idx].mean()), c.size, n_boot=n_boot, seed=seed)
    return out


def compare_triplets(vectors_a, vectors_b, tset: TripletSet) -> dict:
    """Paired test on the triplets both sets cover: exact McNemar on discordant outcomes."""
    ca, cov_a = outcomes(vectors_a, tset)
    cb, cov_b = outcomes(vectors_b, tset)
    both = cov_a & cov_b
    if not both.any():
        raise MmweError("the two vector sets cover no triplet in common")
    return {
        "n": int(both.sum()),
        "accuracy_a": float(ca[both].mean()),
        "accuracy_b": float(cb[both].mean()),
        "p": float(mcnemar(ca[both], cb[both])),
    }


def evaluate_triplet_sets(sets: list[tuple[str, object]], tset: TripletSet, *, ci: bool = True, n_boot: int = 1000,
                          seed: int = 0) -> list[dict]:
    """One `evaluate_triplets` row (plus ``vectors``: the set's name) per vector set, in order; rows after the
    first also get ``p_vs_first`` / ``n_common`` (`compare_triplets` against the first set).

    A set that covers no triplet does not stop the others: its row has the coverage, ``accuracy`` None and
    ``note`` (the reason); so has a comparison with no triplet in common (``p_vs_first`` None). Only when no
    set can be scored does it raise ``MmweError``, as `evaluate_triplets` does for one set.
    """
    rows = []
    for i, (name, vec) in enumerate(sets):
        correct, covered = outcomes(vec, tset)
        if covered.any():
            row = {"vectors": name, **evaluate_triplets(vec, tset, ci=ci, n_boot=n_boot, seed=seed)}
        else:
            row = {"vectors": name, "dataset": tset.name, "accuracy": None, "triplets": int(covered.size),
                   "covered": 0, "not_covered": int(covered.size), **({"ci_low": None, "ci_high": None} if ci else {}),
                   "note": "no triplet is covered: every triplet has a phrase with no known word; check the vocabulary"}
        if i > 0:
            row["p_vs_first"], row["n_common"] = None, 0
            if row["accuracy"] is not None and rows[0]["accuracy"] is not None:
                try:
                    cmp = compare_triplets(sets[0][1], vec, tset)
                    row["p_vs_first"], row["n_common"] = cmp["p"], cmp["n"]
                except MmweError as exc:  # no triplet covered by both sets: no test, the accuracy stands
                    row["note"] = f"no test against the first set: {exc.message}"
        rows.append(row)
    if rows and all(r["accuracy"] is None for r in rows):
        raise MmweError(rows[0]["note"], path=getattr(sets[0][1], "source", None))
    return rows


def triplet_rows(cfg: TripletRun) -> tuple[TripletSet, list[dict]]:
    """The triplet set of ``cfg`` and `evaluate_triplet_sets` of its vector sets on it."""
    tset = load_triplets(cfg.dataset)
    return tset, evaluate_triplet_sets(cfg.load(), tset, ci=cfg.ci, seed=cfg.seed)
