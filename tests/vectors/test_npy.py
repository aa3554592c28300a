"""mmwe.vectors.npy: a .npy matrix with its .words.txt, and the files it refuses (never unpickled)."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.vectors import load, words_path_for
from tests.vectors.conftest import _write


def test_malformed_npy(tmp_path):
    np.save(tmp_path / "m.npy", np.ones((3, 2), np.float32))
    with pytest.raises(MmweError, match=r"m\.npy: no words file for the matrix; expected m\.words\.txt"):
        load(tmp_path / "m.npy")
    _write(words_path_for(tmp_path / "m.npy"), "a\nb\n")
    with pytest.raises(MmweError, match=r"m\.words\.txt: 2 words for a matrix of 3 rows"):
        load(tmp_path / "m.npy")
    _write(words_path_for(tmp_path / "m.npy"), "a\nb\na\n")
    with pytest.raises(MmweError, match=r"m\.words\.txt:3: duplicate word 'a' \(first on line 1\)"):
        load(tmp_path / "m.npy")
    np.save(tmp_path / "o.npy", np.array(["x"], dtype=object), allow_pickle=True)
    words_path_for(tmp_path / "o.npy").write_text("x\n")
    with pytest.raises(MmweError, match=r"o\.npy: not a readable \.npy file"):  # never unpickled
        load(tmp_path / "o.npy")
