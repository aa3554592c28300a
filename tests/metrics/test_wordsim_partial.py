"""One benchmark that cannot be scored does not lose the others (real data: GloVe-6B-50d subsets, the built-in
benchmarks and the cldr-triplets set)."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.datasets.triplets import load_triplets
from mmwe.datasets.wordsim import load_benchmark
from mmwe.errors import MmweError
from mmwe.metrics.triplets import evaluate_triplet_sets, evaluate_triplets
from mmwe.metrics.wordsim import evaluate, evaluate_sets
from mmwe.vectors import Vectors, load


@pytest.fixture(scope="module")
def glove() -> Vectors:
    return load("glove-6b-50d")


@pytest.fixture(scope="module")
def benches():
    return [load_benchmark(name) for name in ("men", "wordsim353", "simlex999")]


def subset(glove: Vectors, words) -> Vectors:
    keep = [w for w in sorted(set(words)) if w in glove]
    return Vectors(keep, glove.matrix[glove.indices(keep)], source="glove-subset")


@pytest.fixture(scope="module")
def thin_men(glove, benches) -> Vectors:
    """GloVe on the words of WS-353 and SimLex-999, without any MEN word except those of two MEN pairs."""
    men, ws, simlex = benches
    pairs = [p for p in men.pairs if all(w in glove for w in p)][:2]
    drop = set(men.words) - {w for p in pairs for w in p}
    vec = subset(glove, [w for w in ws.words + simlex.words if w not in drop] + [w for p in pairs for w in p])
    assert sum(a in vec and b in vec for a, b in men.pairs) == 2
    return vec


def test_thin_benchmark_becomes_a_row_with_its_reason(thin_men, benches):
    rows = evaluate_sets([("thin", thin_men)], benches)
    assert [r["benchmark"] for r in rows] == ["men", "wordsim353", "simlex999"]
    men = rows[0]
    assert men["spearman"] is None and men["pearson"] is None and men["found"] == 2 and men["pairs"] == 3000
    assert "only 2 of 3000 pairs of benchmark 'men'" in men["note"] and "expected at least 3" in men["note"]
    for row, bench in zip(rows[1:], benches[1:]):
        assert "note" not in row and row["found"] > 100
        assert row == {"vectors": "thin", **evaluate(thin_men, bench)}  # the others are untouched


def test_two_sets_compare_only_scored_rows(glove, thin_men, benches):
    full = subset(glove, [w for b in benches for w in b.words])
    rows = evaluate_sets([("full", full), ("thin", thin_men)], benches, ci=True, n_boot=50)
    by = {(r["vectors"], r["benchmark"]): r for r in rows}
    assert by["full", "men"]["spearman"] > 0.6 and by["full", "men"]["p_vs_first"] is None
    thin_men_row = by["thin", "men"]
    assert thin_men_row["spearman"] is None and thin_men_row["p_vs_first"] is None
    assert thin_men_row["ci_low"] is None and thin_men_row["ci_high"] is None
    assert 0 <= by["thin", "wordsim353"]["p_vs_first"] <= 1 and by["thin", "wordsim353"]["n_vs_first"] > 100


def test_constant_similarities_are_a_reason_too(glove, benches):
    """MEN words with zero vectors: every covered MEN pair has cosine 0, WS-353 still varies."""
    men, ws, _ = benches
    words = sorted({w for w in men.words + ws.words if w in glove})
    M = glove.matrix[glove.indices(words)].copy()
    men_words = set(men.words)
    ws_only = [w for w in ws.words if w not in men_words]
    M[[i for i, w in enumerate(words) if w in men_words]] = 0
    vec = Vectors(words, M, source="zeroed")
    rows = evaluate_sets([("zeroed", vec)], [men, ws])
    assert rows[0]["spearman"] is None and rows[0]["found"] > 2900
    assert "got the same value for all" in rows[0]["note"] and "zero vectors" in rows[0]["note"]
    assert len(ws_only) > 10 and isinstance(rows[1]["spearman"], float)


def test_nothing_scored_still_raises(thin_men, benches):
    with pytest.raises(MmweError, match=r"glove-subset: only 2 of 3000 pairs of benchmark 'men'"):
        evaluate_sets([("thin", thin_men)], benches[:1])
    with pytest.raises(MmweError, match="only 2 of 3000 pairs"):
        evaluate(thin_men, benches[0])  # one benchmark alone: as before


def test_triplet_sets_keep_the_scored_ones(glove):
    tset = load_triplets("cldr-triplets")
    none = Vectors(["zzzqx", "qqzzx"], np.eye(2, dtype=np.float32), source="unrelated")
    rows = evaluate_triplet_sets([("glove", glove), ("unrelated", none)], tset, ci=False)
    assert rows[0] == {"vectors": "glove", **evaluate_triplets(glove, tset, ci=False)}
    assert rows[1]["accuracy"] is None and rows[1]["covered"] == 0 and rows[1]["p_vs_first"] is None
    assert "no triplet is covered" in rows[1]["note"]
    with pytest.raises(MmweError, match="unrelated: no triplet is covered"):
        evaluate_triplet_sets([("unrelated", none)], tset)
