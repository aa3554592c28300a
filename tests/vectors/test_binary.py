"""mmwe.vectors.binary: word2vec binary files (the C tool's newlines) and malformed binary files."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.vectors import Vectors, load
from tests.vectors.conftest import _assert_same, _binary, _write


def test_c_tool_binary_with_newlines(tmp_path):
    m = np.array([[1, 2], [3, 4]], dtype="<f4")
    data = b"2 2\n" + b"a " + m[0].tobytes() + b"\n" + b"b " + m[1].tobytes() + b"\n"
    _assert_same(load(_write(tmp_path / "c.bin", data)), Vectors(["a", "b"], m))


BAD_BINARY = [
    (_binary([b"a", b"b"], np.ones((2, 3)))[:-5], r"bad\.bin:1: header claims 2 vectors of 3 dims"),
    (_binary([b"a", b"bbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], np.ones((2, 3)))[:-5],
     r"bad\.bin: binary file ends inside record 2 of 2"),
    (_binary([b"a"], np.ones((1, 3)), header=b"99999999999 300000\n"), r"header claims 99999999999 vectors"),
    (_binary([b"a", b"b"], np.ones((2, 3)), header=b"1 3\n"), r"header says 1 vectors but data continues"),
    (_binary([b"a", b"a"], np.ones((2, 3))), r"record 2 \(byte offset \d+\) has duplicate word 'a'"),
    (_binary([b"a", b"\xff"], np.ones((2, 3))), r"word of record 2 \(byte offset \d+\) is not valid UTF-8"),
    (_binary([b"a", b"b"], np.array([[1, 2, 3], [1, np.nan, 3]])), r"vector 2 \('b'\) holds a NaN"),
    (b"x y\n" + b"\x00" * 40, r"bad\.bin:1: expected a binary word2vec header 'COUNT DIM'"),
]


@pytest.mark.parametrize("data,match", BAD_BINARY)
def test_malformed_binary(tmp_path, data, match):
    path = _write(tmp_path / "bad.bin", data)
    with pytest.raises(MmweError, match=match):
        load(path, fmt="word2vec-binary")
