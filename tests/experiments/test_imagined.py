"""The imagined-vectors experiment (Collell, Zhang & Moens 2017): exact pieces, then a reduced real run
(gemojione emoji + EfficientNet-Lite0 visual word vectors, GloVe-6B-50d, 5 epochs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mmwe.datasets.wordsim import Benchmark
from mmwe.errors import MmweError
from mmwe.experiments import imagined as I
from mmwe.vectors import Vectors


@pytest.mark.parametrize("name, size, first", [("simverb3500", 3500, ("take", "remove")),
                                              ("mturk771", 771, ("access", "gateway")),
                                              ("yp130", 130, ("brag", "boast"))])
def test_new_builtin_benchmarks_load(name, size, first):
    from mmwe.datasets.wordsim import BUILTIN_BENCHMARKS, load_benchmark

    b = load_benchmark(name)
    assert name in BUILTIN_BENCHMARKS and len(b) == size and b.pairs[0] == first and np.isfinite(b.scores).all()


def test_split_words_is_seeded_and_disjoint():
    words = [f"w{i}" for i in range(50)]
    tr, te = I.split_words(words, 0.2, seed=3)
    assert len(te) == 10 and len(tr) == 40 and not set(tr) & set(te) and set(tr) | set(te) == set(words)
    assert (tr, te) == I.split_words(words, 0.2, seed=3) and te != I.split_words(words, 0.2, seed=4)[1]
    with pytest.raises(MmweError, match="at least 2 words"):
        I.split_words(["a"], 0.2, 0)


def test_restrict_keeps_pairs_with_both_words():
    b = Benchmark("t", [("a", "b"), ("a", "z"), ("b", "c")], np.array([1.0, 2.0, 3.0]))
    r = I.restrict(b, {"a", "b", "c"} - {"z"})
    assert r.pairs == [("a", "b"), ("b", "c")] and r.scores.tolist() == [1.0, 3.0]


def test_findings_count_benchmarks():
    def row(b, orig, f, f0, p=0.01):
        return {"embedding": "v", "benchmark": b, "similarity": "cosine", "original": orig, "text": 0.5,
                "f_lin": f, "untrained_lin": f0, "p_f_lin": p, "p_untrained_lin": p}
    rows = [row("men", 0.2, 0.3, 0.4), row("simlex999", 0.3, 0.2, 0.35, p=0.5), row("rg65", None, None, None)]
    f = I.imagined_findings(rows, ("lin",))["v cosine lin"]
    assert f["benchmarks"] == 2 and f["benchmark_names"] == ["men", "simlex999"]
    assert (f["finding1"], f["finding1_significant"]) == (1, 1)
    assert (f["finding2_vs_visual"], f["finding2_vs_visual_significant"], f["finding2_vs_trained"]) == (2, 1, 2)
    assert f["text_beats_visual"] == 2


def test_config_errors():
    with pytest.raises(MmweError, match="one name per visual file"):
        I.ImaginedConfig(visual=("a.txt",), visual_names=("a", "b")).validate()
    with pytest.raises(MmweError, match="0 < test_fraction < 1"):
        I.ImaginedConfig(test_fraction=1.0).validate()
    with pytest.raises(MmweError, match="vectors visual CORPUS"):
        I.run(I.ImaginedConfig())


def test_imagined_vectors_are_rowwise():
    from mmwe.maps import MapConfig, untrained_map

    text = Vectors(["a", "b", "c"], np.arange(6, dtype=np.float32).reshape(3, 2))
    f = untrained_map(2, 4, MapConfig(model="nn", hidden=(8,)))
    all_ = I.imagined_vectors(f, text)
    some = I.imagined_vectors(f, text, ["c", "zz", "a"])
    assert some.words == ["c", "a"] and all_.dim == 4
    np.testing.assert_array_equal(some["c"], all_["c"])


# -- reduced real run ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gem_corpus(tmp_path_factory):
    """The gemojione corpus with its EfficientNet-Lite0 features in CORPUS/features/."""
    from mmwe.corpus import build_corpus
    from mmwe.vision.extract import FeatureConfig, extract_corpus, write_run

    if not Path("/usr/share/rubygems-integration/all/gems/gemojione-3.3.0").is_dir():
        if os.environ.get("CI"):
            pytest.fail("Debian package ruby-gemojione is missing under CI; .ci/ensure-corpora installs it")
        pytest.skip("Debian package ruby-gemojione is not installed (sh .ci/ensure-corpora installs it)")
    out = tmp_path_factory.mktemp("imag") / "corpus"
    build_corpus(["gemojione"], out)
    cfg = FeatureConfig(backend="onnx", num_threads=2)
    feats = out / "features" / "efficientnet-lite0.npy"
    feats.parent.mkdir()
    write_run(feats, extract_corpus(out, cfg), cfg, corpus_dir=out)
    return out


@pytest.fixture(scope="module")
def visual(gem_corpus):
    from mmwe.datasets.visual_words import visual_word_vectors

    return visual_word_vectors(gem_corpus, gem_corpus / "features" / "efficientnet-lite0.npy", min_images=3)[0]


def test_reduced_real_run(visual, tmp_path):
    cfg = I.ImaginedConfig(benchmarks=("men", "simlex999", "mturk771", "rg65"), epochs=5,
                           similarities=("cosine", "euclidean"))
    res = I.run(cfg, visual={"emoji": visual})
    assert res["experiment"] == "collell-imagined" and len(res["rows"]) == 4 * 2
    s = res["visual_sets"]["emoji"]
    assert s["train_words"] + s["heldout_words"] == s["shared_with_text"] > 500
    assert s["heldout"]["lin"]["r2"] > s["heldout"]["untrained_lin"]["r2"]  # a trained map generalises
    men = next(r for r in res["rows"] if r["benchmark"] == "men" and r["similarity"] == "cosine")
    assert men["found_imagined"] == 3000 and men["coverage_gain"] == 3000 - men["found_visual"]
    assert men["pairs"] == 3000 and men["scored"] == men["found_visual"] >= 100 and -1 <= men["original"] <= 1
    for col in ("text", "f_lin", "f_nn", "untrained_lin", "untrained_nn"):
        assert -1 <= men[col] <= 1 and 0 <= men[f"p_{col}"] <= 1
    rg = next(r for r in res["rows"] if r["benchmark"] == "rg65")
    assert rg["original"] is None and rg["found_visual"] < I.MIN_PAIRS  # too few pairs: coverage only
    f = res["findings"]["emoji cosine nn"]
    assert f["benchmarks"] == 3 and 0 <= f["finding1"] <= 3
    out = I.save(res, tmp_path / "run")
    saved = json.loads((out / "results.json").read_text())
    assert saved["experiment"] == "collell-imagined" and saved["findings"].keys() == res["findings"].keys()


# -- visual words from a corpus spec (mmwe.experiments.visual_word_source) ---------------------------------
def test_corpus_spec_and_cnn_errors(tmp_path):
    from mmwe.corpus.ensure import CorpusSpec, builtin_corpora, parse_spec
    from mmwe.experiments import visual_word_source as W

    assert parse_spec("openmoji+gemojione") == CorpusSpec(None, ("openmoji", "gemojione"))
    assert {"openmoji", "gemojione", "art4apps"} <= set(builtin_corpora())
    with pytest.raises(MmweError, match="built-in names joined by '\\+'"):
        parse_spec("openmoji+nosuch")
    with pytest.raises(MmweError, match="without one; fix: build it"):
        parse_spec(str(tmp_path))
    with pytest.raises(MmweError, match="--visual in"):
        W.check_cnns(["resnet152"])
    with pytest.raises(MmweError, match="min_images >= 1"):
        W.VisualWordsConfig(min_images=0).validate()


def test_find_features_takes_the_file_with_most_keys(tmp_path):
    from mmwe.experiments.visual_word_source import find_features

    feats = tmp_path / "features"
    feats.mkdir()
    assert find_features(tmp_path, "mobilenetv2") is None
    for stem, n in (("mobilenetv2", 2), ("mobilenetv2-all", 3), ("mobilenetv2-bin", 5), ("efficientnet-lite0", 9)):
        np.save(feats / f"{stem}.npy", np.zeros((n, 4), np.float32))
        (feats / f"{stem}.keys.txt").write_text("".join(f"k{i}\n" for i in range(n)))
    assert find_features(tmp_path, "mobilenetv2").name == "mobilenetv2-all.npy"  # not -bin, not another CNN
    assert find_features(tmp_path, "efficientnet-lite0").name == "efficientnet-lite0.npy"


def test_run_from_a_corpus_spec_equals_run_on_its_vectors(gem_corpus, visual):
    cfg = I.ImaginedConfig(corpus=str(gem_corpus), benchmarks=("men", "simlex999"), epochs=2)
    logged: list[str] = []
    res = I.run(cfg, log=logged.append)
    built = res["visual_words"]["efficientnet-lite0"]
    assert not logged and built["words_kept"] == len(visual) and built["images_with_features"] == 1794
    same = I.run(cfg, visual={"efficientnet-lite0": visual})
    assert res["rows"] == same["rows"] and res["visual_sets"] == same["visual_sets"]


def test_demo_plans_the_visual_word_runs(tmp_path):
    from mmwe.experiments import demo

    cfg = demo.DemoConfig(out=str(tmp_path), iapr_dir=str(tmp_path / "iapr"), collell_epochs=1)
    jobs = dict(demo.collell_jobs(cfg, print, tmp_path / "corpus"))
    assert list(jobs) == ["collell-exp1-imagenet", "collell-exp1-iaprtc12", "collell-exp1-words", "collell-exp2"]
    assert jobs["collell-exp1-words"].corpus == jobs["collell-exp2"].corpus == str(tmp_path / "corpus")
    assert jobs["collell-exp1-words"].visual == ("efficientnet-lite0",)
    assert "collell-exp1-words" not in dict(demo.collell_jobs(cfg, print, None))
    assert dict(demo.collell_jobs(cfg, print, None))["collell-exp2"].corpus is None  # no visual-word rows
    icfg = demo.imagined_config(cfg, tmp_path / "corpus")
    assert icfg.corpus == str(tmp_path / "corpus") and icfg.cnns == ("efficientnet-lite0",) and icfg.ci_boot > 0
