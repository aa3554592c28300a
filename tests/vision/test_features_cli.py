"""`mmwe features` (run in process through tests.conftest.run_cli): a corpus folder's features, binarised output,
errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmwe.vision import load_features
from tests.conftest import run_cli
from tests.vision.conftest import _tiny_corpus


def test_cli_features(tmp_path, openmoji, bomb_png, cache_dir, capsys):
    corpus = _tiny_corpus(tmp_path / "c", openmoji, bomb_png)
    rc = run_cli(["features", str(corpus), "--cache-dir", str(cache_dir), "--batch-size", "2", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 2 and summary["skipped"] == {"no_image_path": 1, "too_many_pixels": 1}
    keys, m = load_features(corpus / "features" / "efficientnet-lite0.npy")
    assert keys == ["abacus", "pin"] and m.shape == (2, 1280)
    meta = json.loads((corpus / "features" / "efficientnet-lite0.meta.json").read_text())
    assert meta["normalisation"] == "(x/255-0.5)/0.5" and meta["skipped_total"] == 2

    rc = run_cli(["features", str(corpus), "--backend", "torch", "--binarize", "--limit", "1",
               "--out", str(tmp_path / "b.parquet"), "--json"])
    assert rc == 0
    keys_b, b = load_features(tmp_path / "b.parquet")
    assert keys_b == ["abacus"] and set(np.unique(b)) <= {0.0, 1.0}
    np.testing.assert_array_equal(b[0], (m[0] > 0).astype(np.float32))
    assert json.loads(capsys.readouterr().out)["fraction_positive"] == pytest.approx(float(b.mean()))


def test_cli_features_errors(tmp_path, capsys):
    assert run_cli(["features", str(tmp_path)]) == 2
    assert "expected a corpus folder" in capsys.readouterr().err
    assert run_cli(["features", str(tmp_path), "--backend", "tf"]) == 2
    assert "expected --backend in ['onnx', 'torch'], got 'tf'" in capsys.readouterr().err
