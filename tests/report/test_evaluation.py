"""mmwe.report.evaluation: what eval-words / eval-analogies / eval-triplets / mnno print, as data (exact cells)."""

from __future__ import annotations

from mmwe.metrics.config import AnalogyRun, TripletRun, WordsimRun
from mmwe.report.commands import Table
from mmwe.report.evaluation import (
    NONE,
    alignment_rows,
    analogy_printout,
    mnno_printout,
    triplet_printout,
    wordsim_printout,
)


def test_wordsim_one_set_and_two_sets():
    row = {"vectors": "v", "benchmark": "men", "spearman": 0.71234, "pearson": None, "found": 9, "pairs": 10,
           "ci_low": 0.5, "ci_high": 0.8}
    table, = wordsim_printout([row], WordsimRun(vectors=("v",), ci=True))
    assert table.title == "v: word similarity, cosine" and table.rows == [["men", "0.7123", NONE, "9/10",
                                                                           "[0.500, 0.800]"]]
    rows = [dict(row, p_vs_first=None), dict(row, vectors="w", p_vs_first=0.01, note="only 9 of 10")]
    table, note = wordsim_printout(rows, WordsimRun(vectors=("v", "w"), impute_mean=True))
    assert table.title == "word similarity, cosine, mean-imputed" and table.columns[-1] == "p vs first"
    assert [r[-1] for r in table.rows] == ["-", "0.01*"] and note == f"{NONE} w men: only 9 of 10"


def test_analogies_and_triplets():
    rows = [{"vectors": "v", "section": "total", "accuracy": 0.5, "correct": 2, "questions": 5, "skipped": 1}]
    table, = analogy_printout(rows, AnalogyRun(vectors=("v",)), "google")
    assert table.title == "v: analogies google, 3cosadd, first 300000 words"
    assert table.rows == [["total", "0.5000", "2/4", "1"]]
    rows = [{"vectors": "v", "accuracy": None, "covered": 0, "triplets": 7, "ci_low": None, "note": "none"}]
    table, note = triplet_printout(rows, TripletRun(vectors=("v",)), "t", 7)
    assert isinstance(table, Table) and table.rows == [("v", NONE, NONE, "0/7", None)] and note == f"{NONE} v: none"


def test_mnno_with_null_and_alignment():
    r = {"mnno": 0.25, "chance": 0.125, "ratio_to_chance": 2.0, "include_self": False, "k": 5, "metric": "cosine",
         "backend": "exact", "n": 40, "permutations": 10, "null_mean": 0.1, "null_std": 0.01, "p_value": 0.0909,
         "kernel": "linear", **{name: 0.5 for name in ("mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn",
                                                       "cka", "unbiased_cka", "cknna", "svcca")},
         "mutual_knn_chance": 0.1, "mutual_knn_null_mean": 0.2, "mutual_knn_null_std": 0.05,
         "mutual_knn_p_value": 0.5}
    table, = mnno_printout(r)
    assert table.title == "mNNO@5 (cosine, excl. self, exact) over 40 pairs"
    assert table.rows[:5] == [("mNNO", "0.2500"), ("chance", "0.1250"), ("mNNO / chance", "2.00"),
                              ("null (10 shuffles)", "0.1000 ± 0.0100"), ("p-value", "0.0909")]
    assert alignment_rows(r)[0] == ("mutual_knn", "0.5000 (chance 0.1000, null 0.2000 ± 0.0500, p 0.5)")
    assert ("cka (linear)", "0.5000") in alignment_rows(r) and len(table.rows) == 5 + 8
