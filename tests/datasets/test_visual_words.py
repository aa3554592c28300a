"""Visual word vectors: an exact small case (hand-made features, known mean / max) and the real union corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mmwe.corpus import BuildConfig, PreprocessConfig, build_corpus
from mmwe.datasets.visual_words import STOPWORDS, aggregate_rows, visual_word_vectors
from mmwe.datasets.wordsim import load_benchmark
from mmwe.errors import MmweError
from mmwe.vision.store import save_features

# image key -> (description, features or None when the image has no feature row)
TOY = {
    "a": ("Red cat.", [1.0, 0.0, 4.0]),
    "b": ("red DOG", [3.0, 2.0, 0.0]),
    "c": ("the red cat, the cat", [2.0, 6.0, 1.0]),
    "d": ("blue cat", None),
}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vw")
    src = tmp / "toy.jsonl"
    src.write_text("".join(json.dumps({"image": k, "caption": t}) + "\n" for k, (t, _) in TOY.items()))
    corpus = tmp / "corpus"
    build_corpus([str(src)], corpus, BuildConfig(preprocess=PreprocessConfig(min_words=1, min_count=1)))
    keys = [k for k, (_, f) in TOY.items() if f is not None] + ["zzz"]  # "zzz": a row of no corpus record
    feats = np.array([f for _, f in TOY.values() if f is not None] + [[9.0, 9.0, 9.0]], dtype=np.float32)
    save_features(tmp / "f.npy", keys, feats)
    return corpus, tmp / "f.npy"


def test_exact_mean_and_max(toy):
    corpus, feats = toy
    v, st = visual_word_vectors(corpus, feats, min_images=2)
    assert v.words == ["red", "cat"]  # red: 3 images, cat: 2 with features (d has none); dog: 1 -> dropped
    np.testing.assert_allclose(v["red"], [2.0, 8 / 3, 5 / 3], rtol=1e-6)
    np.testing.assert_allclose(v["cat"], [1.5, 3.0, 2.5], rtol=1e-6)  # "cat" twice in c counts c once
    assert st["words_kept"] == 2 and st["words_dropped_min_images"] == 1 and st["stopwords_dropped"] == 1
    assert st["images"] == 4 and st["images_with_features"] == 3 and st["images_without_features"] == 1
    assert st["images_used"] == 3 and st["features_unmatched"] == 1
    assert st["per_source"] == {"jsonl": {"images": 4, "images_with_features": 3, "images_used": 3,
                                          "words_kept": 2, "words_alone": 2}}
    vmax, _ = visual_word_vectors(corpus, feats, min_images=2, aggregate="max")
    np.testing.assert_array_equal(vmax["red"], [3.0, 6.0, 4.0])
    np.testing.assert_array_equal(vmax["cat"], [2.0, 6.0, 4.0])


def test_stopwords_and_min_images_one(toy):
    corpus, feats = toy
    v, st = visual_word_vectors(corpus, feats, min_images=1, stopwords=True)
    assert set(v.words) == {"red", "cat", "dog", "the"} and st["stopwords_dropped"] == 0
    np.testing.assert_array_equal(v["the"], [2.0, 6.0, 1.0])
    assert "the" in STOPWORDS


def test_bad_settings(toy):
    corpus, feats = toy
    with pytest.raises(MmweError, match="min_images >= 1"):
        visual_word_vectors(corpus, feats, min_images=0)
    with pytest.raises(MmweError, match="aggregate 'mean' or 'max'"):
        visual_word_vectors(corpus, feats, aggregate="median")
    with pytest.raises(MmweError, match=r"f\.npy.*at least one word described by >= 9 images.*lower --min-images"):
        visual_word_vectors(corpus, feats, min_images=9)
    with pytest.raises(MmweError, match="manifest.json"):
        visual_word_vectors(feats.parent, feats)


def test_aggregate_rows_matches_numpy():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(20, 5)).astype(np.float32)
    rows = [[0, 3, 7], [19], [2, 2, 5]]
    mean, mx = aggregate_rows(f, rows, "mean"), aggregate_rows(f, rows, "max")
    for j, r in enumerate(rows):
        np.testing.assert_allclose(mean[j], f[r].mean(0), rtol=1e-6)
        np.testing.assert_array_equal(mx[j], f[r].max(0))


# -- real data: art4apps photographs (one word each) + openmoji, EfficientNet-Lite0 ---------------------------
def _need(package: str, path: str) -> None:
    if not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Debian package {package} is missing under CI; .ci/ensure-corpora installs it")
        pytest.skip(f"Debian package {package} is not installed (sh .ci/ensure-corpora installs it)")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    from mmwe.vision.extract import FeatureConfig, extract_corpus, write_run

    _need("pysiogame", "/usr/share/games/pysiogame/res/images/art4apps")
    out = tmp_path_factory.mktemp("vwr") / "corpus"
    build_corpus(["art4apps", "gemojione"], out)
    cfg = FeatureConfig(backend="onnx", num_threads=2)
    feats = out / "features" / "efficientnet-lite0.npy"
    feats.parent.mkdir()
    write_run(feats, extract_corpus(out, cfg), cfg, corpus_dir=out)
    return out, feats


def test_real_union_of_photographs_and_emoji(real):
    corpus, feats = real
    v, st = visual_word_vectors(corpus, feats, min_images=3)
    ps = st["per_source"]
    assert ps["art4apps"]["images"] == 585 and ps["gemojione"]["images"] == 1794
    assert st["images_without_features"] == 0 and st["dim"] == 1280
    assert 900 <= len(v) <= 1100, len(v)  # measured: 994 words (MEN: 524 pairs)
    assert ps["gemojione"]["words_alone"] > ps["art4apps"]["words_alone"]
    # the words of a sound picture: "flag" (259 flags) is closer to "country" than to "food"
    sim = v.unit @ v.unit[v.key_to_index["flag"]]
    assert sim[v.key_to_index["country"]] > sim[v.key_to_index["food"]]
    men = load_benchmark("men")
    assert sum(a in v and b in v for a, b in men.pairs) >= 150
    vmax, _ = visual_word_vectors(corpus, feats, min_images=3, aggregate="max")
    assert vmax.words == v.words and (vmax.matrix >= v.matrix - 1e-6).all()  # a max is never below the mean


def test_paired_words_keeps_shared_words_in_visual_order():
    from mmwe.datasets.visual_words import paired_words
    from mmwe.vectors import Vectors

    vis = Vectors(["cat", "zzqx", "dog"], np.arange(9, dtype=np.float32).reshape(3, 3), source="v")
    txt = Vectors(["dog", "cat"], np.array([[1, 0], [0, 1]], np.float32), source="t")
    d = paired_words(vis, txt, visual_name="mobilenetv2")
    assert d.words == ["cat", "dog"] and d.visual == "mobilenetv2" and d.info["dropped_no_text_vector"] == 1
    np.testing.assert_array_equal(d.image, [[0, 1, 2], [6, 7, 8]])
    np.testing.assert_array_equal(d.text, [[0, 1], [1, 0]])
    with pytest.raises(MmweError, match="at least 2 words"):
        paired_words(vis.subset(["zzqx"]), txt, visual_name="x")
