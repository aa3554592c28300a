"""Image-feature files: a float32 matrix with one image key per row.

Two layouts, chosen by suffix:

* ``NAME.npy`` + ``NAME.keys.txt`` — the matrix (N, D) saved without pickle, and one key per line (UTF-8).
* ``NAME.parquet`` — columns ``key`` (string) and ``features`` (list<float32>, all rows the same length).

Any features can be used this way (VGG, ResNet, CLIP...), not only ours: :func:`load_features` validates what it
reads (rows vs keys, ragged rows, NaN/inf, empty or duplicate keys) and raises ``MmweError`` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmwe.errors import MmweError
from mmwe.fileio import atomic_path, atomic_write, read_npy
from mmwe.validation import check_matrix

FORMATS = (".npy", ".parquet")
_MATRIX_MESSAGES = {  # check_matrix wording for feature files
    "ndim": "expected a 2-D (images x dims) matrix, got shape {shape}",
    "dtype": "expected real numbers, got dtype {dtype}",
    "finite": "expected finite values, got NaN/inf in {bad_rows} rows, first row {row} (key {label!r})",
}


def keys_path(path: str | os.PathLike) -> Path:
    """``features/x.npy`` -> ``features/x.keys.txt``."""
    p = Path(path)
    return p.with_name(p.name[: -len(p.suffix)] + ".keys.txt") if p.suffix else p.with_name(p.name + ".keys.txt")


def _suffix(path: Path) -> str:
    s = path.suffix.lower()
    if s not in FORMATS:
        raise MmweError(f"expected a feature file ending in {' or '.join(FORMATS)}, got {s or 'no suffix'!r}; "
                        "fix: rename it or pass --out NAME.npy", path=path)
    return s


def _check(keys: list[str], matrix: np.ndarray, path: Path, key_file: Path) -> np.ndarray:
    """Shared validation of keys + matrix; returns the matrix as contiguous float32."""
    if matrix.ndim == 2 and len(keys) != matrix.shape[0]:
        raise MmweError(f"expected one key per row, got {len(keys)} keys for {matrix.shape[0]} rows; "
                        f"fix: regenerate {key_file.name}", path=key_file)
    matrix = check_matrix(matrix, min_rows=0, min_cols=0, labels=keys, path=path, messages=_MATRIX_MESSAGES)
    seen: dict[str, int] = {}
    for i, k in enumerate(keys):
        if not k:
            raise MmweError("expected a non-empty image key, got an empty one", path=key_file, line=i + 1)
        j = seen.setdefault(k, i)
        if j != i:
            raise MmweError(f"duplicate image key {k!r} (also on line {j + 1})", path=key_file, line=i + 1)
    return matrix


def save_features(path: str | os.PathLike, keys: Sequence[str], matrix: np.ndarray) -> Path:
    """Write keys + (N, D) float32 features atomically (see module doc); returns ``path``."""
    p = Path(path)
    fmt = _suffix(p)
    keys = [str(k) for k in keys]
    for i, k in enumerate(keys):
        if "\n" in k or "\r" in k:
            raise MmweError(f"image key on row {i + 1} contains a line break: {k!r}", path=p)
    matrix = _check(keys, np.asarray(matrix), p, keys_path(p) if fmt == ".npy" else p)
    if fmt == ".npy":
        with atomic_write(keys_path(p), "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(k + "\n" for k in keys)
        with atomic_path(p) as tmp:
            np.save(tmp, matrix, allow_pickle=False)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        n, d = matrix.shape
        feats = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1), pa.float32()), d) if d else None
        if feats is None:
            raise MmweError("expected at least one feature dimension, got 0", path=p)
        table = pa.table({"key": pa.array(keys, pa.string()),
                          "features": feats.cast(pa.list_(pa.float32()))})
        with atomic_path(p) as tmp:
            pq.write_table(table, tmp)
    return p


def _load_npy(p: Path) -> tuple[list[str], np.ndarray]:
    kp = keys_path(p)
    if not kp.is_file():
        raise MmweError(f"expected the image keys in {kp.name} beside the matrix, got no such file; "
                        "fix: write one key per line, in row order", path=kp)
    matrix = read_npy(p, name="a feature matrix")
    try:
        keys = kp.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise MmweError("expected UTF-8 text, got undecodable bytes", path=kp) from None
    return keys, _check(keys, matrix, p, kp)


def _load_parquet(p: Path) -> tuple[list[str], np.ndarray]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(p)
    except (OSError, pa.ArrowException) as exc:
        raise MmweError(f"expected a Parquet file, got an unreadable one: {exc}", path=p) from None
    missing = {"key", "features"} - set(table.column_names)
    if missing:
        raise MmweError(f"expected columns 'key' and 'features', got {table.column_names}; "
                        f"fix: rename the columns (missing {sorted(missing)})", path=p)
    col = table.column("features").combine_chunks()
    if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type) or pa.types.is_fixed_size_list(col.type)):
        raise MmweError(f"expected 'features' to be a list of floats per row, got type {col.type}", path=p)
    if col.null_count:
        raise MmweError(f"expected features on every row, got {col.null_count} null rows", path=p)
    keys = [str(k) if k is not None else "" for k in table.column("key").to_pylist()]
    lengths = np.diff(col.offsets.to_numpy()) if not pa.types.is_fixed_size_list(col.type) else None
    if lengths is not None and len(lengths) and (lengths != lengths[0]).any():
        i = int(np.flatnonzero(lengths != lengths[0])[0])
        raise MmweError(f"expected {lengths[0]} values on every row, got {lengths[i]} on row {i + 1} "
                        f"(key {keys[i]!r})", path=p)
    flat = col.flatten().to_numpy(zero_copy_only=False)
    dim = int(lengths[0]) if lengths is not None and len(lengths) else (col.type.list_size if lengths is None else 0)
    return keys, _check(keys, flat.reshape(len(keys), dim), p, p)


def load_features(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """(keys, (N, D) float32) from ``.npy`` + ``.keys.txt`` or ``.parquet``; validated (see module doc)."""
    p = Path(path)
    fmt = _suffix(p)
    if not p.is_file():
        raise MmweError("feature file not found; fix: run `mmwe features CORPUS` first or check the path", path=p)
    return _load_npy(p) if fmt == ".npy" else _load_parquet(p)
