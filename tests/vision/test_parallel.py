"""Sharded feature extraction on real images (the first 80 OpenMoji emoji, real EfficientNet-Lite0 via ONNX):
2 spawned processes, or 2 torchrun ranks, give the features of one process bit for bit, rows in corpus order."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mmwe.corpus.build import build_corpus
from mmwe.errors import MmweError
from mmwe.vision.extract import FeatureConfig, extract_corpus, extract_part, merge_parts, partial_dir, torchrun_rank


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("parts")
    build_corpus(["openmoji"], d / "c")
    cfg = FeatureConfig(model="efficientnet-lite0", backend="onnx", limit=80, batch_size=8, num_threads=1,
                        cache_dir=str(d / "cache"))
    one = extract_corpus(d / "c", cfg, partial=partial_dir(d / "one.npy"), chunk=16)
    return d, cfg, one


def test_two_processes_match_one(setup):
    d, cfg, one = setup
    two = extract_corpus(d / "c", replace(cfg, processes=2), partial=partial_dir(d / "two.npy"), chunk=16)
    assert len(one.keys) == 80 and two.keys == one.keys
    np.testing.assert_array_equal(two.matrix, one.matrix)
    parts = sorted(p.name for p in partial_dir(d / "two.npy").iterdir() if p.is_dir())
    assert parts == ["part-000-of-002", "part-001-of-002"]


def test_torchrun_ranks_match_one(setup, monkeypatch):
    d, cfg, one = setup
    partial = partial_dir(d / "ranks.npy")
    extract_part(d / "c", cfg, rank=1, world=2, partial=partial, chunk=16)  # rank 1 finishes first
    with pytest.raises(MmweError, match="expected 3 finished chunks in part 1 of 2, got 0"):
        merge_parts(d / "c", cfg, world=2, partial=partial, chunk=16)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert torchrun_rank() == (0, 2)
    merged = extract_corpus(d / "c", cfg, partial=partial, chunk=16)  # rank 0: its share, then the merge
    assert merged.keys == one.keys
    np.testing.assert_array_equal(merged.matrix, one.matrix)
    monkeypatch.setenv("RANK", "1")
    assert extract_corpus(d / "c", cfg, partial=partial, chunk=16) is None  # other ranks return nothing
    with pytest.raises(MmweError, match="either torchrun or --processes"):
        extract_corpus(d / "c", replace(cfg, processes=2), partial=partial, chunk=16)
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(MmweError, match="expected integer RANK and WORLD_SIZE"):
        torchrun_rank()
