"""The npy format: a (V, D) ``.npy`` matrix plus ``<stem>.words.txt`` beside it (one word per line, UTF-8)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mmwe.errors import MmweError
from mmwe.fileio import atomic_write, read_npy
from mmwe.validation import check_matrix
from mmwe.vectors.common import BAD_WORD_LINES, BOM, UTF8_FIX, check_words, raise_duplicate
from mmwe.vectors.container import Vectors

_NPY_SHAPE = "expected a 2-D numeric matrix (words x dims), got {dtype} of shape {shape}"
_NPY_EMPTY = "expected at least one word and one dimension, got a matrix of shape {shape}"
_NPY_MESSAGES = {"ndim": _NPY_SHAPE, "dtype": _NPY_SHAPE, "rows": _NPY_EMPTY, "cols": _NPY_EMPTY,  # check_matrix
                 "finite": "row {row} ({label!r}) holds a NaN or infinite value"}



def words_path_for(npy_path: str | os.PathLike) -> Path:
    """The words file that goes with a ``.npy`` matrix: ``<stem>.words.txt`` beside it."""
    p = Path(npy_path)
    return p.with_name(p.stem + ".words.txt")


def load_npy(path: Path, limit: int | None, errors: str = "strict") -> Vectors:
    wpath = words_path_for(path)
    if not wpath.is_file():
        raise MmweError(f"no words file for the matrix; expected {wpath.name} beside it (one word per line)",
                        path=path)
    m = read_npy(path, name="a word-vector matrix", mmap=True)
    m = check_matrix(m, dtype=None, finite=False, path=path, messages=_NPY_MESSAGES)  # shape and dtype, no copy
    words = _read_words_file(wpath, limit, errors)
    n = len(words) if limit is None else min(limit, m.shape[0])
    if len(words) != (m.shape[0] if limit is None else n):
        raise MmweError(f"{len(words)} words for a matrix of {m.shape[0]} rows; expected one word per row",
                        path=wpath)
    matrix = check_matrix(m[:n], labels=words, path=path, messages=_NPY_MESSAGES)  # float32, out of the memory map
    return Vectors(words, matrix, source=str(path))


def _read_words_file(path: Path, limit: int | None, errors: str = "strict") -> list[str]:
    data = path.read_bytes()
    data = data[len(BOM):] if data.startswith(BOM) else data
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if limit is not None:
        lines = lines[:limit]
    words: list[str] = []

    def duplicate(i: int, j: int) -> tuple[str, int]:
        return f"duplicate word {words[j]!r} (first on line {i + 1}); expected one distinct word per line", j + 1

    for i, raw in enumerate(lines, start=1):
        try:
            word = raw.rstrip(b"\r").decode("utf-8", errors)
        except UnicodeDecodeError:
            word = None
        if not word:
            raise_duplicate(words, path, duplicate)  # an earlier fault first
            message = ("word is not valid UTF-8; " + UTF8_FIX if word is None
                       else "empty line; expected one distinct word per line")
            raise MmweError(message, path=path, line=i)
        words.append(word)
    raise_duplicate(words, path, duplicate)
    return words


def save_npy(vectors: Vectors, path: Path) -> None:
    check_words(vectors, BAD_WORD_LINES, "contains a line break", path)
    with atomic_write(words_path_for(path), "wb") as fh:
        fh.write(("\n".join(vectors.words) + "\n").encode("utf-8"))
    with atomic_write(path, "wb") as fh:
        np.save(fh, vectors.matrix, allow_pickle=False)

