"""Shared by the tests of mmwe.vision (its fixtures: real weights, OpenMoji, the decompression bomb, are in
tests/conftest.py): a corpus folder written directly."""

from __future__ import annotations

import json
from pathlib import Path


def _tiny_corpus(root: Path, openmoji: Path, bomb: Path) -> Path:
    """A corpus folder written directly: one Parquet shard + the manifest fields the reader checks."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "shards").mkdir(parents=True)
    images = ["abacus", "pin", "bomb", "nopath"]
    paths = [str(openmoji / "1F9EE.svg"), str(openmoji / "1F9F7.svg"), str(bomb), None]
    pq.write_table(pa.table({"image": images, "image_path": paths, "sentences": [["an abacus"]] * 4,
                             "split": ["train"] * 4}), root / "shards" / "part-00000.parquet")
    manifest = {"format": "mmwe-corpus", "version": 1, "shards": [{"file": "shards/part-00000.parquet",
                                                                   "records": 4}], "counts": {"images": 4}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root
