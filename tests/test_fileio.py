"""mmwe.fileio: atomic outputs (whole or absent, and with the permissions an ordinary open() would give) and
read_npy (never unpickles; one error naming the file and what it holds)."""

from __future__ import annotations

import os
import pickle
import stat

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.fileio import atomic_path, atomic_write, read_npy


def test_atomic_outputs_get_umask_permissions_not_mkstemp_0600(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.txt", "w") as fh:
            fh.write("x")
        with atomic_path(tmp_path / "b.npy") as tmp:
            np.save(tmp, np.zeros(3))
    finally:
        os.umask(old)
    for name in ("a.txt", "b.npy"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_failed_write_leaves_the_previous_file_and_no_temp(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "a.txt", "w") as fh:
            fh.write("new, half")
            raise RuntimeError("crash")
    assert (tmp_path / "a.txt").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


# -- read_npy ---------------------------------------------------------------------------------------------
def test_read_npy_reads_and_maps(tmp_path):
    m = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "m.npy", m)
    np.testing.assert_array_equal(read_npy(tmp_path / "m.npy"), m)
    mapped = read_npy(tmp_path / "m.npy", mmap=True)
    assert isinstance(mapped, np.memmap) and mapped.mode == "r"
    np.testing.assert_array_equal(mapped, m)


def _npy(tmp_path, name: str, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("mmap", [False, True])
def test_read_npy_errors(tmp_path, mmap):
    np.save(tmp_path / "good.npy", np.ones((100, 5)))
    good = (tmp_path / "good.npy").read_bytes()
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases = [
        (tmp_path / "none.npy", r"none\.npy: expected a .npy array, got no such file; fix: check the path$"),
        (tmp_path, r": expected a .npy array, got a folder; fix: check the path$"),
        (_npy(tmp_path, "empty.npy", b""), (r"empty\.npy: not a readable \.npy file: expected a \.npy array \(data "
                                            r"starting with \\x93NUMPY\), got an empty file; fix: save the matrix "
                                            r"with numpy\.save$")),
        (_npy(tmp_path, "pickle.npy", pickle.dumps([1, 2])), r"pickle\.npy: .*got pickled data \(never unpickled\)"),
        (_npy(tmp_path, "text.npy", b"1 2 3\n"), r"text\.npy: .*got other data \(first bytes b'1 2 3\\n'\)"),
        (_npy(tmp_path, "zip.npy", b"PK\x03\x04rest"), r"zip\.npy: .*got a zip archive \(\.npz\?"),
        (tmp_path / "obj.npy", (r"obj\.npy: not a readable \.npy file: expected numbers, got dtype object, which "
                                r"needs pickle, and mmwe reads \.npy files without pickle; fix: re-save it with "
                                r"np\.save\(path, matrix\.astype\('float32'\)\)$")),
        (_npy(tmp_path, "cut.npy", good[:-7]), (r"cut\.npy: not a readable \.npy file: expected a \.npy array, got "
                                                r"a truncated or damaged file \(.*\); fix: write it again with "
                                                r"numpy\.save")),
        (_npy(tmp_path, "head.npy", good[:9]), r"head\.npy: not a readable \.npy file: .*truncated or damaged"),
    ]
    for path, match in cases:
        with pytest.raises(MmweError, match=match):
            read_npy(path, mmap=mmap)
    with pytest.raises(MmweError, match=r"expected word vectors, got no such file"):
        read_npy(tmp_path / "none.npy", name="word vectors")
