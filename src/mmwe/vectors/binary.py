"""The word2vec binary format: header ``COUNT DIM\\n`` then ``WORD `` + D little-endian float32 per word (gensim and the
original C tool, with or without a newline after each vector)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mmwe.errors import MmweError
from mmwe.vectors.common import UTF8_FIX, chunk_rows, parse_header, raise_duplicate
from mmwe.vectors.container import Vectors


def load_binary(buf: bytes, start: int, path: str, limit: int | None, errors: str = "strict") -> Vectors:
    nl = buf.find(b"\n", start, start + 100)
    header = parse_header(buf[start:nl]) if nl >= 0 else None
    if header is None or header[0] < 1 or header[1] < 1:
        shown = buf[start: start + 40].decode("utf-8", "replace").split("\n")[0]
        raise MmweError(f"expected a binary word2vec header 'COUNT DIM' (two positive integers), got {shown!r}",
                        path=path, line=1)
    count, dim = header
    n = count if limit is None else min(limit, count)
    nbytes = 4 * dim
    # Never trust the header's sizes: each record needs at least a 1-byte word, a space and 4*dim bytes.
    need, have = n * (nbytes + 2), len(buf) - nl - 1
    if need > have:
        raise MmweError(f"header claims {count} vectors of {dim} dims (at least {need} bytes for {n}) but only "
                        f"{have} bytes follow; the file is truncated or not word2vec binary", path=path, line=1)
    words, offsets = _scan_binary_records(buf, nl + 1, n, nbytes, path, errors)
    if limit is None and buf[offsets[-1] + nbytes:].strip(b"\n"):
        raise MmweError(f"header says {count} vectors but data continues after the last one; fix: correct the "
                        "count in the header", path=path)
    matrix = np.frombuffer(b"".join(buf[o: o + nbytes] for o in offsets), dtype="<f4").reshape(n, dim)
    bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
    if len(bad):
        i = int(bad[0])
        raise MmweError(f"vector {i + 1} ({words[i]!r}) holds a NaN or infinite value; fix: repair or drop it",
                        path=path)
    return Vectors(words, matrix.astype(np.float32), source=path)


def _scan_binary_records(buf: bytes, pos: int, n: int, nbytes: int, path: str,
                         errors: str = "strict") -> tuple[list[str], list[int]]:
    """Words and byte offsets of the vectors of the first n records."""
    words: list[str] = []
    starts: list[int] = []  # byte offset of each word
    offsets: list[int] = []  # byte offset of each vector

    def duplicate(i: int, j: int) -> tuple[str, None]:
        return (f"record {j + 1} (byte offset {starts[j]}) has duplicate word {words[j]!r} (first at record "
                f"{i + 1})", None)

    def fail(message: str) -> None:
        raise_duplicate(words, path, duplicate)  # an earlier fault first
        raise MmweError(message, path=path)

    for i in range(n):
        while buf[pos: pos + 1] == b"\n":  # the C tool writes a newline after each vector, gensim does not
            pos += 1
        sp = buf.find(b" ", pos, pos + 10_000)
        if sp < 0 and pos + 10_000 < len(buf):
            fail(f"record {i + 1} (byte offset {pos}): no space after the word within 10000 bytes; the file is "
                 "damaged or not word2vec binary")
        if sp < 0 or sp + 1 + nbytes > len(buf):
            fail(f"binary file ends inside record {i + 1} of {n} (needs {nbytes} vector bytes after the word); the "
                 "file is truncated")
        try:
            word = buf[pos:sp].decode("utf-8", errors)
        except UnicodeDecodeError:
            word = None
        if word is None:
            fail(f"word of record {i + 1} (byte offset {pos}) is not valid UTF-8; the file is damaged, not word2vec "
                 "binary, or in another encoding; " + UTF8_FIX)
        if not word:
            fail(f"record {i + 1} (byte offset {pos}) has an empty word")
        words.append(word)
        starts.append(pos)
        offsets.append(sp + 1)
        pos = sp + 1 + nbytes
    raise_duplicate(words, path, duplicate)
    return words, offsets


def binary_chunks(vectors: Vectors) -> Iterator[bytes]:
    """gensim's layout: ``WORD `` + float32 bytes, no newline between records; in chunks of rows."""
    m = vectors.matrix.astype("<f4", copy=False)
    yield f"{len(vectors)} {vectors.dim}\n".encode()
    step = chunk_rows(vectors).step
    for start in chunk_rows(vectors):
        words = vectors.words[start: start + step]
        yield b"".join(w.encode("utf-8") + b" " + m[start + i].tobytes() for i, w in enumerate(words))

