"""The Mao et al. reproduction, one seed: every variant trains, is evaluated, and the table and findings are written
(the seeded study: test_mao_study.py)."""

from __future__ import annotations

import json

import pytest

from mmwe.datasets.triplets import load_triplets
from mmwe.errors import MmweError
from mmwe.experiments import mao as M
from mmwe.experiments.mao.markdown import markdown  # the package's `markdown` is the module
from mmwe.metrics.triplets import compare_triplets
from tests.conftest import TINY_WORDS as WORDS
from tests.conftest import run_cli
from tests.conftest import tiny_corpus as make_corpus


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("mao")
    corpus = make_corpus(d / "c", n_img=48)
    # triplets over the corpus words: base and positive are consecutive words (they co-occur), negative is far
    rows = [(WORDS[i], WORDS[(i + 1) % 20], WORDS[(i + 10) % 20]) for i in range(20)]
    tsv = d / "trip.tsv"
    tsv.write_text("".join("\t".join(r) + "\n" for r in rows) + "zzz\tw1\tw2\n", encoding="utf-8")
    return corpus, tsv, d


def tiny(tsv, variants=("puretext", "A", "C")) -> M.MaoConfig:
    return M.MaoConfig(variants=variants, triplets=str(tsv), baseline=None,
                       train_overrides=dict(emb_dim=8, hidden=16, proj=8, negatives=10, batch_size=16, min_count=1,
                                            epochs=2, patience=3, lr=0.5, device="cpu",
                                            checkpoint_every=0, threads=1))


def test_variants_follow_the_paper():
    assert [v[0] for v in M.VARIANTS] == ["puretext", "A-noshare", "A", "B", "C"]
    cfg = M.MaoConfig()
    assert [(M.variant_config(n, cfg).model, M.variant_config(n, cfg).share) for n in ("A", "A-noshare", "B", "C")] \
        == [("A", True), ("A", False), ("B", False), ("C", False)]
    assert M.variant_config("B", M.MaoConfig(lam=0.25)).lam == 0.25
    with pytest.raises(MmweError, match="unknown variant"):
        M.variant_config("D", cfg)
    with pytest.raises(MmweError, match="unknown training settings"):
        M.variant_config("A", M.MaoConfig(train_overrides={"learning_rate": 1.0}))


def test_run_writes_rows_findings_and_markdown(setup):
    corpus, tsv, d = setup
    res = M.run(corpus, None, d / "run", tiny(tsv), log=lambda s: None)
    assert [r["model"] for r in res["rows"]] == ["puretext", "A", "C"]
    for r in res["rows"]:
        assert r["triplets"] == 21 and r["covered"] == 20  # the 'zzz' triplet has an unknown phrase
        assert 0.0 <= r["ci_low"] <= r["accuracy"] <= r["ci_high"] <= 1.0
        assert r["dim"] == 8 and r["epochs"] == 2
        assert (d / "run" / r["model"] / "vectors.txt").is_file()
    assert "p_vs_puretext" in res["rows"][1]
    claims = {f["claim"] for f in res["findings"]}
    assert "Model A beats the Pure text RNN" in claims and "Model C beats the Pure text RNN" in claims
    on_disk = json.loads((d / "run" / "results.json").read_text())
    assert on_disk["rows"][0]["accuracy"] == res["rows"][0]["accuracy"] and on_disk["experiment"] == "mao"
    vec = {r["model"]: M.trained_vectors(d / "run" / r["model"]) for r in res["rows"]}  # read by mmwe.vectors
    tset = load_triplets(str(tsv))
    for f in res["findings"]:  # each claim is the exact McNemar test of the two sets, computed here again
        better, worse = next((b, w) for text, b, w in M.CLAIMS if text == f["claim"])
        cmp = compare_triplets(vec[better], vec[worse], tset)
        assert (f["left"], f["right"], f["common"], f["p"]) == (cmp["accuracy_a"], cmp["accuracy_b"], cmp["n"],
                                                                cmp["p"])
    md = (d / "run" / "results.md").read_text()
    assert "| puretext |" in md and "Findings of the paper" in md


def test_cli_reproduce_mao_json(setup, capsys):
    corpus, tsv, d = setup
    rc = run_cli(["reproduce", "mao", "--corpus", str(corpus), "--variants", "puretext,A", "--baseline", "none",
                  "--triplets", str(tsv), "--epochs", "1", "--out", str(d / "cli"), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in out["rows"]] == ["puretext", "A"] and out["rows"][0]["epochs"] == 1
    assert run_cli(["reproduce", "mao", "--corpus", str(corpus), "--variants", "A,Z", "--out", str(d / "bad")]) == 2
    assert "unknown variant 'Z'" in capsys.readouterr().err


def test_one_findings_for_one_seed_and_for_several():
    """`mao_findings` turns any comparison into the claims' rows: holds when left > right (or diff > 0 with seeds),
    'not significant' at p >= 0.05, claims with a missing model left out, the comparison's numbers kept in order."""
    one = {("A", "puretext"): {"left": 0.7, "right": 0.6, "common": 50, "p": 0.01},
           ("C", "puretext"): {"left": 0.5, "right": 0.6, "common": 50, "p": 0.2}}
    rows = M.mao_findings(lambda better, worse: one.get((better, worse)))
    assert [(r["claim"], r["holds"], r["verdict"]) for r in rows] == [
        ("Model A beats the Pure text RNN", True, "holds"),
        ("Model C beats the Pure text RNN", False, "does not hold (difference not significant)")]
    assert list(rows[0]) == ["claim", "holds", "left", "right", "common", "p", "verdict"]
    seeds = {"left": 0.6, "right": 0.6, "diff": -1e-9, "common": 9, "p": 0.04, "t": -2.5, "df": 8.0, "se": 0.1,
             "seed_wins": 0, "seeds": 2}
    (row,) = M.mao_findings(lambda b, w: seeds if (b, w) == ("A", "A-noshare") else None)
    assert row["holds"] is False and row["verdict"] == "does not hold" and row["seeds"] == 2  # diff decides


def test_one_markdown_writer_for_both_layouts():
    one = {"triplets": "t", "corpus": "c", "rows": [{"model": "A", "accuracy": 0.5, "ci_low": 0.4, "ci_high": 0.6,
                                                     "covered": 9, "triplets": 10, "dim": 8, "men": 0.25,
                                                     "men_found": 300}],
           "findings": [{"claim": "X", "verdict": "holds", "left": 0.5, "right": 0.25, "common": 9, "p": 0.0123}]}
    md = markdown(one)
    assert "| A | 0.500 | [0.400, 0.600] | 9/10 | – | 0.250 (300) | – | – | 8 | – |" in md
    assert "- X: **holds** (0.500 vs 0.250 on 9 common triplets, p = 0.0123)." in md and "Learning curve" not in md
