"""mmwe.vision.extract: ensure_features extracts a corpus's features once."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.vision import FeatureConfig, load_features
from tests.vision.conftest import _tiny_corpus


def test_ensure_features_extracts_once(tmp_path, openmoji, bomb_png, cache_dir, monkeypatch):
    from mmwe.vision import extract as X

    corpus = _tiny_corpus(tmp_path / "c", openmoji, bomb_png)
    cfg = FeatureConfig(backend="onnx", cache_dir=str(cache_dir), batch_size=2)
    seen: list[tuple[int, int, str]] = []
    out = X.ensure_features(corpus, cfg, progress=lambda *a: seen.append(a))
    assert out == corpus / "features" / "efficientnet-lite0.npy" and not X.partial_dir(out).exists()
    assert seen[-1] == (4, 4, "image features")  # every record counted, skipped ones too
    keys, m = load_features(out)
    direct = X.extract_corpus(corpus, cfg)
    assert keys == direct.keys == ["abacus", "pin"] and np.array_equal(m, direct.matrix)
    monkeypatch.setattr(X, "extract_corpus", lambda *a, **k: pytest.fail("extracted again"))
    assert X.ensure_features(corpus, cfg) == out  # the file is there: nothing to do
