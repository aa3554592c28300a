"""Input checks shared by the whole package: what a valid matrix, pair of matrices, choice or range is.

Modelled on scikit-learn's ``check_array``: each helper returns the validated value or raises ``MmweError``
worded "expected ..., got ...; fix: ...". Options are keyword-only. The checks live here only; a module whose
users (and tests) know its older wording passes that wording as ``messages``, a dict of ``str.format`` templates
keyed by the kind of failure (see ``MATRIX_MESSAGES`` for the kinds and the fields each template may use).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mmwe.errors import MmweError

# Templates by failure. Fields: name, type, shape, dtype, n_rows, n_cols, min_rows, min_cols, and for "finite"
# also row (first bad row, 1-based), index (the same, 0-based), label (labels[index], "" without labels),
# bad_rows (rows holding a NaN/inf), bad_values (NaN/inf entries).
MATRIX_MESSAGES: dict[str, str] = {
    "type": "{name}: expected a numeric matrix, got {type}; fix: pass a 2-D numpy array",
    "ndim": "{name}: expected a 2-D matrix (rows x dims), got shape {shape}; "
            "fix: reshape to (N, d), e.g. X.reshape(1, -1) for one vector",
    "dtype": "{name}: expected real numbers, got dtype {dtype}; fix: convert with .astype('float32')",
    "rows": "{name}: expected at least {min_rows} rows, got {n_rows}; fix: add rows",
    "cols": "{name}: expected at least {min_cols} columns, got {n_cols}; fix: add columns",
    "finite": "{name}: expected finite values, got NaN/inf in row {row} ({bad_rows} of {n_rows} rows); "
              "fix: drop or fix those rows",
}
_FINITE_CHUNK = 1 << 16  # rows per isfinite pass: bounds the boolean temporary at large N


def check_matrix(X: Any, *, name: str = "X", dtype: Any = np.float32, min_rows: int = 1, min_cols: int = 1,
                 finite: bool = True, copy: bool = False, labels: Sequence[Any] | None = None,
                 path: str | os.PathLike | None = None, messages: Mapping[str, str] | None = None) -> np.ndarray:
    """X as a validated 2-D array of real numbers (integers or floats; not bool, complex, str or object).

    ``dtype``: convert to it (C-contiguous; a copy only when needed or ``copy``); ``None`` keeps X's dtype and
    layout. Values beyond the range of ``dtype`` (1e39 in float32) become inf and fail the ``finite`` check,
    which reports the first row holding a NaN or inf. ``labels`` name the rows in that message; ``path`` names
    the file X came from (MmweError's ``path``); ``messages`` overrides templates of ``MATRIX_MESSAGES``.
    """
    templates = {**MATRIX_MESSAGES, **(messages or {})}
    fields: dict[str, Any] = {"name": name, "type": type(X).__name__, "min_rows": min_rows, "min_cols": min_cols}

    def fail(kind: str, **more: Any) -> MmweError:
        return MmweError(templates[kind].format(**fields, **more), path=path)

    try:
        A = np.asarray(X)
    except (TypeError, ValueError):  # ragged nested lists, objects numpy cannot convert
        raise fail("type") from None
    fields.update(shape=A.shape, dtype=A.dtype)
    if A.ndim != 2:
        raise fail("ndim")
    if not (np.issubdtype(A.dtype, np.integer) or np.issubdtype(A.dtype, np.floating)):
        raise fail("dtype")
    fields.update(n_rows=A.shape[0], n_cols=A.shape[1])
    if A.shape[0] < min_rows:
        raise fail("rows")
    if A.shape[1] < min_cols:
        raise fail("cols")
    if dtype is not None:
        with np.errstate(over="ignore"):  # out-of-range values become inf: reported by the finite check
            A = np.array(A, dtype=dtype, order="C") if copy else np.ascontiguousarray(A, dtype=dtype)
    elif copy:
        A = A.copy()
    if finite and A.dtype.kind == "f":
        bad = _nonfinite_rows(A)
        if len(bad):
            i = int(bad[0])
            raise fail("finite", row=i + 1, index=i, label=labels[i] if labels is not None and i < len(labels) else "",
                       bad_rows=len(bad), bad_values=int(np.count_nonzero(~np.isfinite(A))))
    return A


def _nonfinite_rows(A: np.ndarray) -> np.ndarray:
    """Indices of the rows of the float matrix A that hold a NaN or inf, in order."""
    parts = [np.flatnonzero(~np.isfinite(A[s:s + _FINITE_CHUNK]).all(axis=1)) + s
             for s in range(0, A.shape[0], _FINITE_CHUNK)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def check_paired(X: Any, Y: Any, *, names: tuple[str, str] = ("X", "Y"),
                 **options: Any) -> tuple[np.ndarray, np.ndarray]:
    """``check_matrix`` of both (same ``options``), and the same number of rows: row i of X pairs with row i of Y."""
    X = check_matrix(X, name=names[0], **options)
    Y = check_matrix(Y, name=names[1], **options)
    if X.shape[0] != Y.shape[0]:
        raise MmweError(f"expected {names[0]} and {names[1]} with the same number of rows: got {X.shape[0]} and "
                        f"{Y.shape[0]} (row i of one pairs with row i of the other); fix: pair the rows first, "
                        "e.g. with mmwe.datasets.paired.load_pair", path=options.get("path"))
    return X, Y


def check(ok: bool, message: str) -> None:
    """Raise MmweError(``message``) unless ``ok``: a config's ``validate()`` states each rule as one such line
    (``check_choice`` / ``check_range`` where their wording fits; the messages users and tests know otherwise)."""
    if not ok:
        raise MmweError(message)


def check_choice(name: str, value: Any, allowed: Iterable[Any], *, fix: str | None = None) -> Any:
    """``value`` if it is one of ``allowed``; else MmweError "expected NAME in {a, b}, got 'c'"."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise MmweError(f"expected {name} in {{{', '.join(map(str, allowed))}}}, got {value!r}" + _fix(fix))
    return value


def check_range(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False,
                fix: str | None = None) -> Any:
    """``value`` if it lies in [lo, hi] (an open end excludes its bound); NaN never does."""
    above = lo < value if lo_open else lo <= value
    below = value < hi if hi_open else value <= hi
    if not (above and below) or value != value:
        interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise MmweError(f"expected {name} in {interval}, got {value}" + _fix(fix))
    return value


def check_k(k: int, n_rows: int | None = None, *, name: str = "matrix") -> int:
    """A neighbour count: k >= 1 and, given the number of rows, k + 1 <= n_rows (a point plus k others)."""
    if k < 1:
        raise MmweError(f"k must be at least 1, got {k}")
    if n_rows is not None and n_rows < k + 1:
        raise MmweError(f"{name}: k={k} neighbours need at least {k + 1} rows, got {n_rows}; "
                        "fix: lower --k or add rows")
    return k


def _fix(fix: str | None) -> str:
    return "" if fix is None else f"; fix: {fix}"
