"""Atomic outputs: whole or absent, and with the permissions an ordinary open() would give."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from mmwe.fileio import atomic_path, atomic_write


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
