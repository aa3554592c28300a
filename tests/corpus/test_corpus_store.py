"""mmwe.corpus.store: manifests and sharded streaming (round robin over shards and splits). Named
test_corpus_store.py: tests/vision/test_store.py tests mmwe.vision.store."""

from __future__ import annotations

import json

import pytest

from mmwe.corpus import BuildConfig, PreprocessConfig, SplitConfig, build_corpus, read_manifest
from mmwe.corpus.openmoji import cldr_annotations
from mmwe.errors import MmweError
from tests.corpus.conftest import joined, records


# -- streaming and sharding -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sh")
    keys = sorted(cldr_annotations())[:50]
    (tmp / "s.jsonl").write_text("".join(json.dumps({"image": k, "caption": joined(k)}) + "\n" for k in keys))
    cfg = BuildConfig(preprocess=PreprocessConfig(min_words=1), split=SplitConfig(0.2, 0.2, 0),
                      shard_size=7, row_group_size=3)
    build_corpus([str(tmp / "s.jsonl")], tmp / "c", cfg)
    return tmp / "c", keys


def test_streaming_shards_round_robin(sharded):
    corpus, keys = sharded
    m = read_manifest(corpus)
    assert [s["records"] for s in m["shards"]] == [7] * 7 + [1]
    everything = [r.image for r in records(corpus)]
    assert everything == keys
    for split in (None, "train", "test"):
        stream = [r.image for r in records(corpus, split=split)]
        parts = [[r.image for r in records(corpus, split=split, shard=k, num_shards=3)] for k in range(3)]
        assert parts == [stream[k::3] for k in range(3)]
    assert len(records(corpus, split="val")) == m["counts"]["by_split"]["val"]["images"]
    with pytest.raises(MmweError, match="0 <= shard < num_shards"):
        records(corpus, shard=3, num_shards=3)
    with pytest.raises(MmweError, match="expected split in"):
        records(corpus, split="dev")
