"""The Mao et al. reproduction: every variant trains, is evaluated, and the table and findings are written."""

from __future__ import annotations

import json

import pytest

from mmwe.errors import MmweError
from mmwe.experiments import mao as M
from tests.lm.test_train import WORDS, make_corpus, run_cli


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
    assert on_disk["rows"][0]["accuracy"] == res["rows"][0]["accuracy"]
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
