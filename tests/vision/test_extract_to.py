"""The feature file's lifecycle, written once (`mmwe.vision.extract.extract_to`, `ensure_features`): the partial
folder, resume after an interruption (same features), the file and .meta.json, the clean-up, torchrun's ranks.
A pixel-mean extractor stands in for the CNN, so every feature is known: the mean colour of its PNG."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmwe.corpus import BuildConfig, PreprocessConfig, build_corpus
from mmwe.vision import extract as X
from mmwe.vision import parallel
from mmwe.vision.store import load_features
from tests.conftest import png_bytes

COLORS = [(10 * i, 255 - 20 * i, 7 * i) for i in range(10)]


class MeanColor:
    """(B, S, S, 3) pixels -> (B, 3) mean colour; ``fail_at`` raises on that call (an interrupted run)."""

    name, backend, dim, image_size = "mean-color", "numpy", 3, 16

    def __init__(self, fail_at: int | None = None):
        self.calls, self.fail_at = 0, fail_at

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_at:
            raise KeyboardInterrupt
        return images.reshape(len(images), -1, 3).mean(axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("pngs")
    (d / "img").mkdir()
    rows = []
    for i, c in enumerate(COLORS):
        (d / "img" / f"{i}.png").write_bytes(png_bytes((16, 16), c))
        rows.append(json.dumps({"image": f"img/{i}.png", "caption": f"colour number {i}"}))
    (d / "c.jsonl").write_text("\n".join(rows) + "\n")
    build_corpus([str(d / "c.jsonl")], d / "c", BuildConfig(preprocess=PreprocessConfig(min_words=1, min_count=1)))
    return d / "c"


def _cfg():
    return X.FeatureConfig(batch_size=2)


def _want(corpus) -> dict[str, np.ndarray]:
    keys = [k for k, _ in X.iter_corpus_images(corpus)]
    return {k: np.array(COLORS[int(k.split("/")[-1].split(".")[0])], np.float32) for k in keys}


def test_extract_to_writes_file_meta_and_removes_partial(corpus, tmp_path):
    target = tmp_path / "out" / "f.npy"  # its folder is made
    seen: list[tuple] = []
    run = X.extract_to(corpus, _cfg(), target, progress=lambda *a: seen.append(a), extractor=MeanColor(), chunk=2)
    keys, matrix = load_features(target)
    want = _want(corpus)
    assert sorted(keys) == sorted(want) and len(keys) == 10
    assert seen == [(d, 10, "image features") for d in range(2, 11, 2)]  # chunks of 2, batches of 2
    np.testing.assert_array_equal(matrix, np.stack([want[k] for k in keys]))
    assert run.keys == keys and X.meta_path(target).is_file() and not X.partial_dir(target).exists()


def test_interrupted_extraction_resumes_with_the_same_features(corpus, tmp_path):
    target = tmp_path / "f.npy"
    with pytest.raises(KeyboardInterrupt):
        X.extract_to(corpus, _cfg(), target, extractor=MeanColor(fail_at=3), chunk=2)
    assert not target.exists() and X.partial_dir(target).is_dir()  # two finished chunks kept, no output
    again = MeanColor()
    X.extract_to(corpus, _cfg(), target, extractor=again, chunk=2)
    assert again.calls == 3  # 5 chunks of one batch: the 2 finished ones are not extracted again
    clean = tmp_path / "clean.npy"
    X.extract_to(corpus, _cfg(), clean, extractor=MeanColor(), chunk=2)
    (k1, m1), (k2, m2) = load_features(target), load_features(clean)
    assert k1 == k2 and np.array_equal(m1, m2) and not X.partial_dir(target).exists()


def test_torchrun_rank_other_than_0_writes_nothing(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    target = tmp_path / "f.npy"
    assert X.extract_to(corpus, _cfg(), target, extractor=MeanColor(), chunk=2) is None
    assert not target.exists() and X.partial_dir(target).is_dir()  # its part, for rank 0 to merge


def test_ensure_features_extracts_once_and_says_so(corpus, tmp_path, monkeypatch):
    ext = MeanColor()
    monkeypatch.setattr(parallel, "extractor_for", lambda cfg, rank, world: ext)
    logs: list[str] = []
    seen: list[tuple] = []
    out = X.ensure_features(corpus, _cfg(), out=tmp_path / "f.npy", log=logs.append,
                            progress=lambda *a: seen.append(a), what="colours")
    assert out == tmp_path / "f.npy" and out.is_file() and ext.calls == 5
    assert logs == [f"extracting efficientnet-lite0 features (onnx) of 10 images into {out} (once; minutes)"]
    assert seen[-1] == (10, 10, "colours")
    assert X.ensure_features(corpus, _cfg(), out=out, log=logs.append) == out  # there: nothing extracted or said
    assert ext.calls == 5 and len(logs) == 1
