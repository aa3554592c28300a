"""Retrieval metrics vs slow plain-Python oracles and small cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmwe.errors import MmweError
from mmwe.metrics.retrieval import (
    CSLS_K,
    average_precision,
    cosine_scores,
    csls_from_cosines,
    csls_penalties,
    csls_scores,
    first_relevant_ranks,
    inverted_softmax_from_cosines,
    inverted_softmax_scores,
    label_relevance,
    mean_average_precision,
    precision_at_k,
    recall_at_k,
    target_ranks,
    topk_accuracy,
    topk_mean_similarity,
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


# -- hubness reduction: CSLS and inverted softmax ----------------------------------------------------------


def _oracle_topk_mean(values, k):
    top = sorted(values, reverse=True)[: min(k, len(values))]
    return sum(top) / len(top)


def _oracle_csls(rows, k):
    """MUSE's formula with plain loops: 2 s - r_q - r_d, r = mean of the k largest in the row / column."""
    nq, nd = len(rows), len(rows[0])
    r_q = [_oracle_topk_mean(rows[i], k) for i in range(nq)]
    r_d = [_oracle_topk_mean([rows[i][j] for i in range(nq)], k) for j in range(nd)]
    return [[(2 * rows[i][j] - r_q[i]) - r_d[j] for j in range(nd)] for i in range(nq)]


def _muse_csls(Q, D, k):
    """MUSE's code path (src/evaluation/word_translation.py, get_nn_avg_dist with torch): unit rows, topk().mean(),
    scores.mul_(2).sub_(r_src[:, None] + r_tgt[None, :])."""
    import torch

    q = torch.from_numpy(Q).double()
    d = torch.from_numpy(D).double()
    q = q / q.norm(2, 1, keepdim=True).expand_as(q)
    d = d / d.norm(2, 1, keepdim=True).expand_as(d)
    r_src = q.mm(d.t()).topk(k, dim=1)[0].mean(1)
    r_tgt = d.mm(q.t()).topk(k, dim=1)[0].mean(1)
    scores = q.mm(d.t())
    scores.mul_(2)
    scores.sub_(r_src[:, None] + r_tgt[None, :])
    return scores.numpy()


def _oracle_invsoftmax(rows, beta):
    """vecmap's eval_translation.py --retrieval invsoftmax, as loops: log(exp(beta s) / partition of the column)."""
    nq, nd = len(rows), len(rows[0])
    part = [sum(math.exp(beta * rows[i][j]) for i in range(nq)) for j in range(nd)]
    return [[math.log(math.exp(beta * rows[i][j]) / part[j]) for j in range(nd)] for i in range(nq)]


# k = 1, 2, 4 keep the penalties of integer scores exact (and k above the set size divides the exact sum once),
# so the oracle's floats equal the fast ones bit for bit and ties are decided by the index rule on both sides
@settings(max_examples=80, deadline=None)
@given(scores_st, st.sampled_from([1, 2, 4, 10]), st.integers(1, 3), st.randoms(use_true_random=False))
def test_csls_matches_loop_oracle_with_ties(rows, k, block, rnd):
    S = np.array(rows, dtype=float)
    got = csls_from_cosines(S, k, block=block)
    want = _oracle_csls(rows, k)
    assert got.tolist() == want
    targets = np.array([rnd.randrange(len(rows[0])) for _ in rows])
    assert target_ranks(got, targets).tolist() == [_oracle_rank(r, t) for r, t in zip(want, targets)]


def test_csls_equals_muse_code_path():
    rng = np.random.default_rng(3)
    Q, D = rng.normal(size=(37, 6)), rng.normal(size=(29, 6))
    D[5] = D[4]  # a duplicated candidate: equal scores, penalties and a tie at the lower index
    want = _muse_csls(Q, D, CSLS_K)
    got = csls_scores(Q, D)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert (target_ranks(got, np.full(37, 5)) > target_ranks(got, np.full(37, 4))).all()  # the tie goes to 4


def test_penalties_blocked_match_loops():
    rng = np.random.default_rng(4)
    Q, D = rng.normal(size=(23, 5)), rng.normal(size=(17, 5))
    S = cosine_scores(Q, D)
    r_q, r_d = csls_penalties(S, 3, block=4)
    np.testing.assert_allclose(r_q, [_oracle_topk_mean(list(r), 3) for r in S], atol=1e-15)
    np.testing.assert_allclose(r_d, [_oracle_topk_mean(list(c), 3) for c in S.T], atol=1e-15)
    np.testing.assert_allclose(topk_mean_similarity(Q, D, 3, block=5), r_q, atol=1e-15)
    np.testing.assert_allclose(topk_mean_similarity(D, Q, 3, block=5), r_d, atol=1e-15)


def test_csls_known_answer_removes_a_hub():
    # candidate 0 is a hub: the nearest candidate of both queries. k = 1:
    # r_q = (0.9, 0.95), r_d = (0.95, 0.88); CSLS row 0 = (1.8 - 0.9 - 0.95, 1.76 - 0.9 - 0.88) = (-0.05, -0.02)
    S = np.array([[0.9, 0.88], [0.95, 0.1]])
    C = csls_from_cosines(S, 1)
    np.testing.assert_allclose(C, [[-0.05, -0.02], [0.0, 0.2 - 0.95 - 0.88]], atol=1e-12)
    targets = np.array([1, 0])
    assert target_ranks(S, targets).tolist() == [2, 1]  # plain retrieval: query 0 lands on the hub
    assert target_ranks(C, targets).tolist() == [1, 1]  # CSLS: each query finds its own candidate
    assert recall_at_k(C[:, ::-1], ks=(1,))["r@1"] == 1.0


def test_csls_in_place_equals_copy():
    rng = np.random.default_rng(5)
    S = cosine_scores(rng.normal(size=(40, 4)), rng.normal(size=(30, 4)))
    want = csls_from_cosines(S, 10)
    S2 = S.copy()
    out = csls_from_cosines(S2, 10, out=S2, block=7)
    assert out is S2 and np.array_equal(S2, want)


@pytest.mark.parametrize("beta", [1.0, 30.0])
def test_inverted_softmax_matches_vecmap_loops(beta):
    rng = np.random.default_rng(6)
    Q, D = rng.normal(size=(13, 4)), rng.normal(size=(11, 4))
    S = cosine_scores(Q, D)
    got = inverted_softmax_from_cosines(S, beta, block=4)
    np.testing.assert_allclose(got, _oracle_invsoftmax(S.tolist(), beta), rtol=0, atol=1e-12)
    np.testing.assert_allclose(inverted_softmax_scores(Q, D, beta), got, atol=1e-15)
    # vecmap picks argmax of exp(beta S) / partition: the same candidate
    vec = np.exp(beta * S) / np.exp(beta * S).sum(axis=0)
    assert (got.argmax(axis=1) == vec.argmax(axis=1)).all()


def test_inverted_softmax_no_overflow_and_known_answer():
    S = np.array([[1.0, 0.5], [1.0, -0.5]])
    got = inverted_softmax_from_cosines(S, 1000.0)  # exp(1000) overflows; the log form does not
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got[:, 0], [-math.log(2), -math.log(2)])  # two equal queries share column 0
    np.testing.assert_allclose(got[:, 1], [0.0, -1000.0], atol=1e-12)
    with pytest.raises(MmweError, match="beta > 0"):
        inverted_softmax_from_cosines(S, 0.0)


@settings(max_examples=60, deadline=None)
@given(scores_st, st.randoms(use_true_random=False))
def test_first_relevant_ranks_match_oracle(rows, rnd):
    S = np.array(rows, dtype=float)
    R = np.array([[rnd.random() < 0.3 for _ in r] for r in rows])
    got = first_relevant_ranks(S, R, block=2)
    want = []
    for r, rel in zip(rows, R.tolist()):
        order = _oracle_ranking(r)
        want.append(next((p for p, j in enumerate(order, 1) if rel[j]), 0))
    assert got.tolist() == want
    p = precision_at_k(S, R, ks=(1, 3))
    used = [w for w in want if w]
    assert p["queries"] == len(used) and p["skipped"] == len(want) - len(used)
    if used:
        assert p["p@1"] == pytest.approx(sum(w <= 1 for w in used) / len(used))
        assert p["p@3"] == pytest.approx(sum(w <= 3 for w in used) / len(used))


def test_precision_at_k_single_target_equals_recall():
    rng = np.random.default_rng(7)
    S = rng.normal(size=(25, 25))
    p = precision_at_k(S, np.eye(25, dtype=bool), ks=(1, 5, 10))
    r = recall_at_k(S, ks=(1, 5, 10))
    assert all(p[f"p@{k}"] == r[f"r@{k}"] for k in (1, 5, 10))


def test_precision_at_k_several_targets_known_answer():
    # query 0: relevant 1 and 2 ranked 2nd and 3rd -> hit at 2; query 1: relevant 0 ranked 1st
    S = np.array([[0.9, 0.5, 0.4], [0.7, 0.8, 0.6]])
    R = np.array([[False, True, True], [True, False, False]])
    assert first_relevant_ranks(S, R).tolist() == [2, 2]
    p = precision_at_k(S, R, ks=(1, 2))
    assert p["p@1"] == 0.0 and p["p@2"] == 1.0


def test_csls_bad_k_raises():
    with pytest.raises(MmweError, match="k >= 1"):
        csls_from_cosines(np.zeros((2, 2)), 0)
