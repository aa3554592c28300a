"""mmwe.report.explorer: label names for IAPR TC-12 items."""

from __future__ import annotations

import pytest

from mmwe.datasets.iaprtc12 import iapr_item_names
from mmwe.errors import MmweError
from mmwe.neighbor_sets import read_neighbour_set
from mmwe.report.explorer import apply_label_names, read_label_names


def test_label_names(tmp_path):
    labels = [[3, 0], [], [1]]
    assert iapr_item_names(labels) == ["#1: 0 3", "#2: (no labels)", "#3: 1"]
    nset = {"rows": [0, 2], "labels": [[0, 3], [1]], "names": ["#1: 0 3", "#3: 1"]}
    (tmp_path / "names.txt").write_text("sky\ntree\nman\nwall\n")
    named = apply_label_names(nset, read_label_names(tmp_path / "names.txt"))
    assert named["names"] == ["#1: sky, wall", "#3: tree"] and nset["names"][0] == "#1: 0 3"
    with pytest.raises(MmweError, match="label name for every label id up to 3, got 2 names"):
        apply_label_names(nset, ["sky", "tree"])
    (tmp_path / "bad.txt").write_text("sky\n\nman\n")
    with pytest.raises(MmweError, match=r"bad.txt:2: expected one label name per line"):
        read_label_names(tmp_path / "bad.txt")
    (tmp_path / "nb.json").write_text('{"format": "other"}')
    with pytest.raises(MmweError, match="format 'mmwe-neighbors'"):
        read_neighbour_set(tmp_path / "nb.json")
