"""mmwe.vision.store: feature files (.npy + .keys.txt, Parquet) round trip and refuse bad input."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.vision import (
    keys_path,
    load_features,
    save_features,
)

# -- feature files ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["f.npy", "f.parquet"])
def test_save_load_roundtrip(tmp_path, name):
    keys = ["a.jpg", "b c.png", "δ.svg"]
    m = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    p = save_features(tmp_path / name, keys, m)
    k2, m2 = load_features(p)
    assert k2 == keys and m2.dtype == np.float32
    np.testing.assert_array_equal(m2, m.astype(np.float32))
    if name.endswith(".npy"):
        assert keys_path(p).read_text(encoding="utf-8") == "a.jpg\nb c.png\nδ.svg\n"


def test_load_features_validation(tmp_path):
    p = tmp_path / "v.npy"
    np.save(p, np.ones((3, 2), np.float32))
    keys_path(p).write_text("a\nb\n")
    with pytest.raises(MmweError, match=r"v.keys.txt: expected one key per row, got 2 keys for 3 rows"):
        load_features(p)
    keys_path(p).write_text("a\nb\na\n")
    with pytest.raises(MmweError, match=r"v.keys.txt:3: duplicate image key 'a' \(also on line 1\)"):
        load_features(p)
    keys_path(p).write_text("a\nb\nc\n")
    bad = np.ones((3, 2), np.float32)
    bad[1, 0] = np.nan
    np.save(p, bad)
    with pytest.raises(MmweError, match=r"NaN/inf in 1 rows, first row 2 \(key 'b'\)"):
        load_features(p)
    np.save(p, np.array([{"x": 1}] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(MmweError, match="without pickle"):
        load_features(p)
    keys_path(p).unlink()
    with pytest.raises(MmweError, match="expected the image keys in v.keys.txt"):
        load_features(p)
    with pytest.raises(MmweError, match="ending in .npy or .parquet"):
        load_features(tmp_path / "v.csv")
    with pytest.raises(MmweError, match="feature file not found"):
        load_features(tmp_path / "none.npy")


def test_load_parquet_validation(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "u.parquet"
    pq.write_table(pa.table({"key": ["a", "b"], "features": [[1.0, 2.0], [3.0]]}), p)
    with pytest.raises(MmweError, match=r"expected 2 values on every row, got 1 on row 2 \(key 'b'\)"):
        load_features(p)
    pq.write_table(pa.table({"name": ["a"], "features": [[1.0]]}), p)
    with pytest.raises(MmweError, match="expected columns 'key' and 'features'"):
        load_features(p)
    pq.write_table(pa.table({"key": ["a", "a"], "features": [[1.0], [2.0]]}), p)
    with pytest.raises(MmweError, match="duplicate image key 'a'"):
        load_features(p)
    with pytest.raises(MmweError, match="one key per row, got 1 keys for 2 rows"):
        save_features(tmp_path / "w.npy", ["a"], np.zeros((2, 3)))
