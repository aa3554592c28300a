"""Phrase-triplet metric, mining and datasets."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from mmwe.corpus.tokenize import tokenize
from mmwe.datasets.triplets import MineConfig, TripletSet, mine_triplets, read_clicks, read_tsv, stems, write_tsv
from mmwe.errors import MmweError
from mmwe.metrics.triplets import (
    cosine_distance_rows,
    evaluate_triplets,
    phrase_matrix,
    triplet_accuracy,
    triplet_outcomes,
)
from mmwe.vectors import Vectors


# -- metric vs a slow oracle ---------------------------------------------------------------------------------
def _oracle_accuracy(vecs: dict[str, list[float]], triplets):
    def phrase(p):
        ws = [vecs[w] for w in tokenize(p) if w in vecs]
        if not ws:
            return None
        return [sum(col) / len(ws) for col in zip(*ws)]

    def cosdist(a, b):
        na = math.sqrt(sum(x * x for x in a))
        nb = math.sqrt(sum(x * x for x in b))
        if na == 0 or nb == 0:
            return 1.0
        return 1 - sum(x * y for x, y in zip(a, b)) / (na * nb)

    correct = covered = 0
    for b, p, n in triplets:
        vb, vp, vn = phrase(b), phrase(p), phrase(n)
        if vb is None or vp is None or vn is None:
            continue
        covered += 1
        correct += cosdist(vb, vp) < cosdist(vb, vn)
    return correct / covered, covered


def test_accuracy_matches_slow_oracle():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    vec = Vectors(words, rng.normal(size=(40, 8)).astype(np.float32))
    pyr = random.Random(1)
    triplets = []

    def mk():
        return " ".join(pyr.choice(words + ["unknownword"]) for _ in range(pyr.randint(1, 3)))

    for _ in range(300):
        triplets.append((mk(), mk(), mk()))
    res = evaluate_triplets(vec, TripletSet("gen", triplets), ci=False)
    acc, cov = _oracle_accuracy({w: vec[w].astype(np.float64).tolist() for w in words}, triplets)
    assert res["covered"] == cov and res["triplets"] == 300
    assert res["accuracy"] == pytest.approx(acc, abs=1e-12)


def test_exact_small_case_and_tie_is_wrong():
    vec = Vectors(["a", "b", "c", "d"], np.array([[1, 0], [1, 0.1], [0, 1], [1, 0]], dtype=np.float32))
    ts = TripletSet("t", [("a", "b", "c"), ("a", "c", "b"), ("a", "d", "b"), ("a", "b", "d"), ("a", "zzz", "b")])
    res = evaluate_triplets(vec, ts, ci=False)
    # correct: 1st (b closer than c); 3rd (d identical to a); 2nd wrong; 4th wrong; 5th not covered
    assert res == {"dataset": "t", "accuracy": 0.5, "triplets": 5, "covered": 4, "not_covered": 1}
    tie = triplet_outcomes(np.array([[1.0, 0]]), np.array([[2.0, 0]]), np.array([[3.0, 0]]))
    assert not tie[0]


def test_phrase_matrix_averages_raw_vectors_and_zero_vector_distance():
    m = np.array([[2.0, 0], [0, 4.0]])
    P, known = phrase_matrix([["x", "y"], ["nope"]], lambda ws: np.array([{"x": 0, "y": 1}.get(w, -1) for w in ws]), m)
    assert np.allclose(P[0], [1.0, 2.0]) and known.tolist() == [True, False]
    assert cosine_distance_rows(np.zeros((1, 2)), np.ones((1, 2)))[0] == 1.0


def test_nothing_covered_is_an_error():
    with pytest.raises(MmweError, match="no triplet is covered"):
        triplet_accuracy(np.zeros(3, bool), np.zeros(3, bool))


def test_bootstrap_ci_brackets_accuracy():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    vec = Vectors(words, rng.normal(size=(30, 5)).astype(np.float32))
    ts = TripletSet("g", [tuple(rng.choice(words, 3)) for _ in range(400)])
    res = evaluate_triplets(vec, ts, ci=True, n_boot=300)
    assert res["ci_low"] <= res["accuracy"] <= res["ci_high"]
    assert res["ci_high"] - res["ci_low"] < 0.2


# -- mining: an exact hand-worked case -----------------------------------------------------------------------
CLICKS = [
    # query, item, annotation, clicks
    ("red cars", "img1", "sports car", 5),  # shares stem 'car' with the query -> removed
    ("red cars", "img1", "fast vehicle", 5),
    ("red cars", "img2", "fast vehicle", 2),
    ("red cars", "img2", "ferrari", 2),
    ("red cars", "img3", "cherry", 1),
    ("wooden tables", "img4", "oak furniture", 3),
    ("wooden tables", "img4", "table", 3),  # stem 'tabl' shared -> removed
]


def test_mining_exact():
    trip = mine_triplets(CLICKS, MineConfig(positives_per_query=2, negatives_per_positive=1, seed=0))
    bases_pos = [(b, p) for b, p, _ in trip]
    # scores for 'red cars': fast vehicle 7, ferrari 2, cherry 1, sports car removed
    assert bases_pos == [("red cars", "fast vehicle"), ("red cars", "ferrari"), ("wooden tables", "oak furniture")]
    for b, p, n in trip:
        assert not (stems(n) & (stems(b) | stems(p)))
        assert n != p
    # deterministic, and independent of row order
    assert trip == mine_triplets(list(reversed(CLICKS)), MineConfig(positives_per_query=2, seed=0))


def test_mining_item_annotations_are_scored_by_clicks_of_the_query():
    rows = [("q one", "i1", "alpha", 1), ("q one", "i2", "beta", 10), ("q two", "i1", "gamma", 50)]
    trip = mine_triplets(rows, MineConfig(positives_per_query=1))
    # i1 carries alpha and gamma: for 'q one' they score 1 each and beta 10 -> beta first;
    # for 'q two' alpha and gamma tie at 50 -> the alphabetically first wins
    assert [(b, p) for b, p, _ in trip] == [("q one", "beta"), ("q two", "alpha")]


def test_read_clicks_and_tsv_errors(tmp_path):
    good = tmp_path / "c.tsv"
    good.write_text("query\titem\tannotation\tclicks\nred cars\timg1\tfast vehicle\t3\n", encoding="utf-8")
    assert read_clicks(good) == [("red cars", "img1", "fast vehicle", 3.0)]
    bad = tmp_path / "bad.tsv"
    bad.write_text("red cars\timg1\tfast vehicle\tmany\n", encoding="utf-8")
    with pytest.raises(MmweError, match=r"bad.tsv:1: clicks must be a number"):
        read_clicks(bad)
    bad.write_text("a\tb\tc\n", encoding="utf-8")
    with pytest.raises(MmweError, match=r"bad.tsv:1: expected 4"):
        read_clicks(bad)
    t = tmp_path / "t.tsv"
    t.write_text("# comment\nx\ty\tz\nonly\ttwo\n", encoding="utf-8")
    with pytest.raises(MmweError, match=r"t.tsv:3: expected 3 tab-separated"):
        read_tsv(t)
    t.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(MmweError, match="not UTF-8"):
        read_tsv(t)
    with pytest.raises(MmweError, match="not found"):
        read_tsv(tmp_path / "missing.tsv")


def test_tsv_round_trip(tmp_path):
    trip = [("a b", "c", "d e f"), ("ü", "x", "y")]
    write_tsv(trip, tmp_path / "o.tsv")
    assert read_tsv(tmp_path / "o.tsv").triplets == trip


def test_cli_mine_and_eval(tmp_path, capsys):
    import json

    from mmwe.cli import main

    clicks = tmp_path / "clicks.tsv"
    clicks.write_text("".join("\t".join(map(str, r)) + "\n" for r in CLICKS), encoding="utf-8")
    out = tmp_path / "trip.tsv"
    assert main(["triplets", "mine", str(clicks), "--out", str(out), "--positives", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["triplets"] == 3
    vec = Vectors(["red", "cars", "fast", "vehicle", "ferrari", "cherry", "oak", "furniture", "wooden", "tables",
                   "sports", "car"],
                  np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32))
    from mmwe.vectors import save

    save(vec, tmp_path / "v.txt")
    assert main(["eval-triplets", str(tmp_path / "v.txt"), str(tmp_path / "v.txt"), "--dataset", str(out),
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["triplets"] == 3 and rows[1]["p_vs_first"] == 1.0
    assert main(["triplets", "mine", str(clicks), "--out", str(tmp_path / "nofolder" / "x.tsv")]) == 0  # mkdir -p
    assert (tmp_path / "nofolder" / "x.tsv").is_file()


def test_phrases_use_the_training_tokenizer():
    """One tokenizer: "woman’s boot" is looked up as the words training stores (womans), not "woman s"."""
    vec = Vectors(["womans", "boot", "man", "s", "woman"], np.eye(5, dtype=np.float32))
    ts = TripletSet("t", [("woman’s boot", "womans", "man")])
    res = evaluate_triplets(vec, ts, ci=False)
    assert res["covered"] == 1 and res["accuracy"] == 1.0
