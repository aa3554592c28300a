"""Loading two paired representations (row i of one pairs with row i of the other) for mNNO and friends.

Accepted inputs, per file:

* ``.csv``: the format of Collell & Moens' released data, one row per item: ``label,v1,...,vd`` (no header;
  a trailing comma is allowed; for IAPR TC-12 the label is the space-separated list of label ids);
* ``.npy``: a bare (N, d) matrix, paired by row (a ``.npy`` with a ``<stem>.words.txt`` beside it is a word
  vector file, see below);
* any word-vector file or built-in name understood by ``mmwe.vectors.load``.

Pairing: by row when either side is a bare ``.npy`` or when both label/word sequences are identical;
otherwise by shared labels (both sides must have unique labels), in the first file's order.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmwe import vectors as vio
from mmwe.errors import MmweError
from mmwe.fileio import atomic_path, atomic_write, read_npy
from mmwe.validation import check_matrix

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_NPY_SHAPE = "expected a 2-D numeric matrix (rows x dims), got shape {shape} dtype {dtype}"
_NPY_MESSAGES = {"ndim": _NPY_SHAPE, "dtype": _NPY_SHAPE,  # check_matrix wording for a bare .npy side
                 "finite": "row {row}: expected finite values, got NaN/inf (or a value beyond float32's 3.4e38)"}


@dataclass
class _Table:
    """One loaded side: its rows and how they may be paired."""

    matrix: np.ndarray  # (N, d) float32
    names: list[str] | None  # row labels / words; None for a bare .npy
    path: str  # where it came from, for messages


def _parse_row(cells: list[str], path: str, line: int, width: int | None) -> np.ndarray:
    """Numbers of one CSV row (label already removed), with a located error for anything off."""
    if cells and cells[-1].strip() == "":
        cells = cells[:-1]  # trailing comma, as in the released IAPR files
    if not cells:
        raise MmweError("expected label,v1,...,vd; got a label with no values", path=path, line=line)
    try:
        row = np.array(cells, dtype=np.float64)
    except ValueError:
        for col, cell in enumerate(cells, start=2):
            try:
                float(cell)
            except ValueError:
                raise MmweError(f"column {col}: expected a number, got {cell.strip()[:30]!r}; "
                                "is there a header line or a comma inside a label?", path=path, line=line) from None
        raise
    if width is not None and len(row) != width:
        raise MmweError(f"expected {width} values (as on the first row), got {len(row)}", path=path, line=line)
    bad = ~(np.abs(row) <= _FLOAT32_MAX)  # NaN, inf, and values that overflow float32 (1e39)
    if bad.any():
        col = int(np.flatnonzero(bad)[0]) + 2
        beyond = "; float32 holds at most 3.4e38" if np.isfinite(row[col - 2]) else ""
        raise MmweError(f"column {col}: expected a finite number, got {cells[col - 2].strip()!r}{beyond}",
                        path=path, line=line)
    return row


def read_label_csv(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Rows ``label,v1,...,vd`` -> (labels, (N, d) float32 matrix). Blank lines are skipped."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MmweError("file not found", path=p) from None
    except UnicodeDecodeError as exc:
        raise MmweError(f"expected UTF-8 text, got an undecodable byte at offset {exc.start}", path=p) from None
    labels: list[str] = []
    rows: list[np.ndarray] = []
    reader = csv.reader(io.StringIO(text))
    for cells in reader:
        line = reader.line_num
        if not cells or all(c.strip() == "" for c in cells):
            continue
        row = _parse_row(cells[1:], str(p), line, rows[0].shape[0] if rows else None)
        labels.append(cells[0].strip())
        rows.append(row)
    if not rows:
        raise MmweError("expected rows label,v1,...,vd; got no rows", path=p)
    return labels, np.stack(rows).astype(np.float32)


def _load_side(path: str | os.PathLike, unicode_errors: str = "strict") -> _Table:
    """Read one side by its suffix (see the module docstring); ``unicode_errors`` as in ``mmwe.vectors.load``."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        labels, M = read_label_csv(p)
        return _Table(M, labels, str(p))
    if suffix == ".npy" and not p.with_name(p.stem + ".words.txt").exists():
        if not p.exists():
            raise MmweError("file not found", path=p)
        M = check_matrix(read_npy(p), min_rows=0, min_cols=0, path=p, messages=_NPY_MESSAGES)  # (N, d) float32
        return _Table(M, None, str(p))
    # word vectors: any format vectors.load detects, or a built-in name
    vec = vio.load(str(path), unicode_errors=unicode_errors)
    return _Table(vec.matrix, list(vec.words), str(path))


def _first_repeat(names: list[str]) -> str | None:
    seen: set[str] = set()
    for w in names:
        if w in seen:
            return w
        seen.add(w)
    return None


def _pair(a: _Table, b: _Table) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if a.names is None or b.names is None or a.names == b.names:
        if len(a.matrix) != len(b.matrix):
            raise MmweError(f"rows are paired by position, so both sides need the same number of rows: "
                            f"{a.path} has {len(a.matrix)}, {b.path} has {len(b.matrix)}")
        names = a.names or b.names or [str(i) for i in range(len(a.matrix))]
        return a.matrix, b.matrix, names
    for t in (a, b):
        rep = _first_repeat(t.names)
        if rep is not None:
            raise MmweError(f"the two files list different labels, so rows would be paired by label, but label "
                            f"{rep!r} repeats; give both files in the same row order", path=t.path)
    index_b = {w: i for i, w in enumerate(b.names)}
    shared = [(i, index_b[w]) for i, w in enumerate(a.names) if w in index_b]
    if len(shared) < 2:
        raise MmweError(f"expected shared labels/words to pair the rows, got {len(shared)} shared between "
                        f"{a.path} and {b.path}")
    ia, ib = map(np.array, zip(*shared))
    return a.matrix[ia], b.matrix[ib], [a.names[i] for i in ia]


def load_pair(path_a: str | os.PathLike, path_b: str | os.PathLike, *,
              unicode_errors: str = "strict") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Two paired matrices (N, d1), (N, d2) and the N row names (labels, words, or row numbers); word-vector files
    are read with ``unicode_errors`` (see ``mmwe.vectors.load``)."""
    return _pair(_load_side(path_a, unicode_errors), _load_side(path_b, unicode_errors))


def read_matrix_file(path: str | os.PathLike, *, unicode_errors: str = "strict") -> tuple[list[str] | None, np.ndarray]:
    """(row names, (N, d) matrix) of one input as ``load_pair`` reads a side; names None for a bare ``.npy``."""
    side = _load_side(path, unicode_errors)
    return side.names, side.matrix


_VECTOR_SUFFIXES = (".txt", ".vec", ".bin", ".gz")  # written through mmwe.vectors.save (needs row names)


def write_matrix_file(names: list[str] | None, matrix: np.ndarray, path: str | os.PathLike) -> None:
    """Write ``matrix`` (atomically) as .npy, CSV rows ``name,v1,...,vd`` (row numbers when ``names`` is None),
    or a word-vector file (.txt/.vec/.bin/.gz, needs names)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        with atomic_path(path) as tmp:
            np.save(tmp, matrix)
    elif suffix == ".csv":
        names = names if names is not None else [str(i) for i in range(matrix.shape[0])]
        bad = next((n for n in names if "," in n or "\n" in n), None)
        if bad is not None:
            raise MmweError(f"expected labels without commas for CSV output, got {bad!r}; fix: write .npy", path=path)
        with atomic_write(path, "w", encoding="utf-8", newline="\n") as fh:
            for name, row in zip(names, matrix):
                fh.write(name + "," + ",".join(f"{v:.7g}" for v in row) + "\n")
    elif suffix in _VECTOR_SUFFIXES and names is not None:
        vio.save(vio.Vectors(list(names), matrix, source=str(path)), path)
    else:
        raise MmweError(f"expected an output ending in .npy or .csv (or {', '.join(_VECTOR_SUFFIXES)} for word "
                        f"vectors), got {Path(path).name!r}; fix: pick one of those suffixes", path=path)
