"""What the vector file formats share: byte markers, the header line, word and value checks, write chunks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from mmwe.errors import MmweError
from mmwe.validation import check_matrix
from mmwe.vectors.container import Vectors, first_duplicate

UnicodeErrors = Literal["strict", "replace", "ignore"]  # what `load` does with words that are not valid UTF-8
UNICODE_ERRORS = get_args(UnicodeErrors)
UTF8_FIX = "fix: re-encode the file as UTF-8, or read it with unicode_errors='replace' (or 'ignore')"
BOM = b"\xef\xbb\xbf"
BAD_WORD_TEXT = re.compile(r"[ \t\n\r\v\f]")  # separators of the text/binary formats
BAD_WORD_LINES = re.compile(r"[\n\r]")  # separators of a .words.txt file
CHUNK_VALUES = 1 << 18  # values per written chunk (5,242 rows of 50 dims): ~8 MiB of encoding buffers


def parse_header(line: bytes) -> tuple[int, int] | None:
    """(count, dim) from a word2vec header line ``COUNT DIM``; None if the line is not two integers."""
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def raise_duplicate(words: list[str], path, describe: Callable[[int, int], tuple[str, int | None]]) -> None:
    """Raise the reader's message for the first repeated word of ``words``; nothing if all differ.

    ``describe(i, j)`` gives ``(message, line)`` for ``words[j]``, a repeat of ``words[i]``. Readers call this once
    their words are read and before they report any later fault, so the first fault in the file is the one named.
    """
    dup = first_duplicate(words)
    if dup is not None:
        message, line = describe(*dup)
        raise MmweError(message, path=path, line=line)


def chunk_rows(vectors: Vectors) -> range:
    return range(0, len(vectors), max(1, CHUNK_VALUES // max(1, vectors.dim)))


def check_words(vectors: Vectors, bad: re.Pattern, why: str, path: Path) -> None:
    for i, w in enumerate(vectors.words):
        if not w or bad.search(w):
            what = "is empty" if not w else why
            raise MmweError(f"word {i + 1} ({w!r}) {what}; fix: replace such characters, or save as npy", path=path)


def check_finite(vectors: Vectors, path: Path) -> None:
    check_matrix(vectors.matrix, dtype=None, min_rows=0, min_cols=0, labels=vectors.words, path=path,
                 messages={"finite": "vector of {label!r} (row {row}) holds a NaN or infinite value; fix: drop or "
                                     "repair it before saving"})


FLOAT32_MAX = float(np.finfo(np.float32).max)
