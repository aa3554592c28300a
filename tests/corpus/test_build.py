"""mmwe.corpus.build: the reader registry and output safety (--overwrite, no partial folder left behind)."""

from __future__ import annotations

import pytest

from mmwe.corpus import READERS, BuildConfig, PreprocessConfig, build_corpus
from mmwe.errors import MmweError
from tests.corpus.conftest import records


def paper(**kw) -> BuildConfig:
    return BuildConfig(preprocess=PreprocessConfig(**kw) if kw else None)


def test_registry_and_output_safety(tmp_path, jsonl_sample):
    assert set(READERS) == {"jsonl", "parquet", "coco", "webdataset", "pinterest", "folder", "openmoji",
                            "openclipart", "gemojione", "art4apps", "tuxpaint"}
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("x")
    with pytest.raises(MmweError, match="not empty; pass --overwrite"):
        build_corpus([str(jsonl_sample)], tmp_path / "c")
    build_corpus([str(jsonl_sample)], tmp_path / "c", BuildConfig(overwrite=True))
    assert not (tmp_path / "c" / "keep.txt").exists() and (tmp_path / "c" / "manifest.json").exists()
    with pytest.raises(MmweError, match="at least one record to survive.*too_short=7"):
        build_corpus([str(jsonl_sample)], tmp_path / "d", paper(min_words=40))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "src"]  # no partial folder left behind
    with pytest.raises(MmweError, match="expected a corpus folder with manifest.json"):
        records(tmp_path / "src")
