"""mmwe.vectors.config with api.convert_file / describe_file: `vectors convert` and `vectors info` as library calls."""

from __future__ import annotations

import gzip

import numpy as np

from mmwe.vectors import Vectors, convert_file, describe_file, load, save
from mmwe.vectors.config import ConvertConfig, InfoConfig
from tests.vectors.conftest import _assert_same, _tricky_vectors, _write


def test_convert_file_round_trips_the_formats_and_keeps_the_first_limit(tmp_path):
    vecs = _tricky_vectors()
    save(vecs, tmp_path / "a.txt")
    out = convert_file(ConvertConfig(src=str(tmp_path / "a.txt"), dst=str(tmp_path / "b.bin"), to_fmt="binary"))
    _assert_same(out, vecs)
    _assert_same(load(tmp_path / "b.bin", fmt="word2vec-binary"), vecs)
    first = convert_file(ConvertConfig(src=str(tmp_path / "b.bin"), dst=str(tmp_path / "c.vec.gz"), limit=5))
    assert first.words == vecs.words[:5] and gzip.open(tmp_path / "c.vec.gz").readline() == b"5 3\n"


def test_convert_file_with_unicode_errors_replace(tmp_path):
    src = _write(tmp_path / "bad.txt", b"caf\xe9 1 2\ntea 3 4\n")
    out = convert_file(ConvertConfig(src=str(src), dst=str(tmp_path / "ok.txt"), unicode_errors="replace"))
    assert out.words == ["caf\ufffd", "tea"]


def test_describe_file_names_the_format_then_describes(tmp_path):
    save(Vectors(["a", "b", "c"], np.array([[3, 4], [0, 0], [1, 0]], np.float32)), tmp_path / "v.txt.gz")
    info = describe_file(InfoConfig(path=str(tmp_path / "v.txt.gz"), show=2))
    assert info == {"path": str(tmp_path / "v.txt.gz"), "format": "word2vec (gzip)", "words": 3, "dim": 2,
                    "first_words": ["a", "b"], "norms": {"min": 0.0, "mean": 2.0, "median": 1.0, "max": 5.0},
                    "zero_vectors": 1}
