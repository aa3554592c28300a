"""Retrieval metrics vs slow plain-Python oracles and small cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmwe.errors import MmweError
from mmwe.metrics.retrieval import (
    average_precision,
    cosine_scores,
    label_relevance,
    mean_average_precision,
    recall_at_k,
    target_ranks,
    topk_accuracy,
)


# -- oracles ------------------------------------------------------------------------------------------------
def _oracle_ranking(row):
    """Candidates sorted by score, descending, ties to the lower index (plain Python)."""
    return sorted(range(len(row)), key=lambda j: (-row[j], j))


def _oracle_ap(row, rel):
    order = _oracle_ranking(row)
    hits, total = 0, 0.0
    for pos, j in enumerate(order, start=1):
        if rel[j]:
            hits += 1
            total += hits / pos
    return total / hits if hits else math.nan


def _oracle_rank(row, target):
    return _oracle_ranking(row).index(target) + 1


# small integer scores make ties frequent, which is where rank logic breaks
scores_st = st.integers(2, 9).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, 3), min_size=n, max_size=n), min_size=1, max_size=7)
)


@settings(max_examples=60, deadline=None)
@given(scores_st, st.randoms(use_true_random=False))
def test_average_precision_matches_oracle(rows, rnd):
    S = np.array(rows, dtype=float)
    R = np.array([[rnd.random() < 0.4 for _ in r] for r in rows])
    got = average_precision(S, R, chunk=3)
    want = [_oracle_ap(r, rl) for r, rl in zip(rows, R.tolist())]
    np.testing.assert_allclose(got, want, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(scores_st, st.randoms(use_true_random=False))
def test_target_ranks_match_oracle(rows, rnd):
    S = np.array(rows, dtype=float)
    targets = np.array([rnd.randrange(len(rows[0])) for _ in rows])
    got = target_ranks(S, targets)
    assert got.tolist() == [_oracle_rank(r, t) for r, t in zip(rows, targets)]


def test_recall_at_k_known_answer():
    # query 0 finds itself first; query 1 second; query 2 ties with 0 and 1 and loses both ties -> rank 3
    S = np.array([[0.9, 0.1, 0.0], [0.8, 0.5, 0.1], [0.4, 0.4, 0.4]])
    r = recall_at_k(S, ks=(1, 2, 3))
    assert r["r@1"] == pytest.approx(1 / 3)
    assert r["r@2"] == pytest.approx(2 / 3)
    assert r["r@3"] == 1.0
    assert r["n"] == 3 and r["median_rank"] == 2.0


def test_topk_accuracy_equals_recall_for_paired_targets():
    rng = np.random.default_rng(0)
    S = rng.normal(size=(20, 20))
    t = topk_accuracy(S, np.arange(20), ks=(1, 5))
    r = recall_at_k(S, ks=(1, 5))
    assert t["top1"] == r["r@1"] and t["top5"] == r["r@5"] and t["candidates"] == 20


def test_map_known_answer_and_skips():
    # relevant at ranks 1 and 3 -> (1/1 + 2/3) / 2; second query has nothing relevant -> skipped
    S = np.array([[0.9, 0.8, 0.7], [0.3, 0.2, 0.1]])
    R = np.array([[True, False, True], [False, False, False]])
    m = mean_average_precision(S, R)
    assert m["map"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["queries"] == 1 and m["skipped"] == 1


def test_map_perfect_and_worst():
    S = np.eye(4)
    assert mean_average_precision(S, np.eye(4, dtype=bool))["map"] == 1.0
    # the single relevant item always ranks last
    assert mean_average_precision(-S + 2, np.eye(4, dtype=bool))["map"] == pytest.approx(0.25)


def test_label_relevance_intersection():
    q = [frozenset({1, 2}), frozenset(), frozenset({5})]
    d = [frozenset({2}), frozenset({3, 5}), frozenset({1})]
    want = [[bool(a & b) for b in d] for a in q]
    assert label_relevance(q, d).tolist() == want


def test_cosine_scores_vs_loop():
    rng = np.random.default_rng(1)
    Q, D = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    D[2] = 0.0
    got = cosine_scores(Q, D)
    for i in range(4):
        for j in range(5):
            nd = np.linalg.norm(D[j])
            want = 0.0 if nd == 0 else Q[i] @ D[j] / (np.linalg.norm(Q[i]) * nd)
            assert got[i, j] == pytest.approx(want)


def test_bad_shapes_raise():
    with pytest.raises(MmweError, match="same number of columns"):
        cosine_scores(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(MmweError, match="as many queries as candidates"):
        recall_at_k(np.zeros((2, 3)))
    with pytest.raises(MmweError, match="shape of the scores"):
        average_precision(np.zeros((2, 3)), np.zeros((3, 2), dtype=bool))
    with pytest.raises(MmweError, match="target index"):
        target_ranks(np.zeros((2, 3)), np.array([0, 3]))
