"""`mmwe.vision.extract.extract_features` (`mmwe features` as one call): the default output beside the corpus, the
summary, a folder that is not a corpus refused before anything is made. The pixel-mean extractor of
test_extract_to stands in for the CNN."""

from __future__ import annotations

import pytest

from mmwe.errors import MmweError
from mmwe.vision import extract as X
from mmwe.vision import parallel
from mmwe.vision.config import FeatureConfig, FeaturesOutput
from tests.vision.test_extract_to import MeanColor, corpus  # noqa: F401  (the corpus fixture)


def test_default_output_and_summary(corpus, monkeypatch):  # noqa: F811
    monkeypatch.setattr(parallel, "extractor_for", lambda cfg, rank, world: MeanColor())
    seen: list[tuple] = []
    s = X.extract_features(FeaturesOutput(corpus=str(corpus)), FeatureConfig(batch_size=5, binarize=True),
                           progress=lambda *a: seen.append(a))
    target = corpus / "features" / "efficientnet-lite0-bin.npy"
    assert target.is_file() and s["output"] == str(target) and seen[-1] == (10, 10, "image features")
    assert (s["model"], s["backend"], s["binarized"], s["threshold"], s["images"], s["dim"]) == (
        "efficientnet-lite0", "onnx", True, "zero", 10, 3)
    assert s["skipped_total"] == 0 and s["fraction_positive"] == pytest.approx(28 / 30)  # colour 0: red 0, blue 0


def test_not_a_corpus_is_refused_before_its_features_folder_is_made(tmp_path):
    with pytest.raises(MmweError):
        X.extract_features(FeaturesOutput(corpus=str(tmp_path / "nope")), FeatureConfig())
    assert not (tmp_path / "nope").exists()
