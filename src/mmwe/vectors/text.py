"""The text formats: word2vec (with a ``COUNT DIM`` header; fastText ``.vec``) and GloVe (without), read and written.

Reading is a two-pass design: a fast C parse (pyarrow.csv) for well-formed files and, when it fails or its result
does not validate, a slow line-by-line pass whose only job is to name the first bad line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from mmwe.errors import MmweError
from mmwe.vectors.common import FLOAT32_MAX, UTF8_FIX, chunk_rows, parse_header, raise_duplicate
from mmwe.vectors.container import Vectors


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


def load_text(buf: bytes, start: int, path: str, *, header: bool, limit: int | None,
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
        parsed = parse_header(first)
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

    def duplicate(i: int, j: int) -> tuple[str, int]:
        return f"duplicate word {words[j]!r} (first on line {line_nos[i]}); fix: keep one of the two lines", line_nos[j]

    line_no = lay.first_line_no - 1
    for raw in buf[lay.data_start:].split(b"\n"):
        line_no += 1
        line = raw.rstrip(b"\r")
        if not line:
            continue
        if lay.count is not None and len(words) == lay.count:
            raise_duplicate(words, path, duplicate)
            raise MmweError(f"header says {lay.count} vectors but there are more lines; fix: correct the count on "
                            "line 1 or delete the extra lines", path=path, line=line_no)
        word_b, _, rest = line.rstrip(b" \t").partition(b" ")
        try:
            word = word_b.decode("utf-8", lay.errors) if word_b and values_re.fullmatch(rest) else ""
        except UnicodeDecodeError:
            word = ""
        if not word:
            raise_duplicate(words, path, duplicate)
            _raise_for_line(line, lay, path, line_no)
        words.append(word)
        rests.append(rest)
        line_nos.append(line_no)
        if limit is not None and len(words) == limit:
            break
    raise_duplicate(words, path, duplicate)
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
                        + UTF8_FIX, path=path, line=line_no) from None
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
    if not abs(value) <= FLOAT32_MAX:  # also catches nan
        raise MmweError(f"field {field_no} is {shown!r}, not a finite float32 number; fix: repair or drop this "
                        "vector", path=path, line=line_no)
    return value


def text_chunks(vectors: Vectors, *, header: bool) -> Iterator[bytes | memoryview]:
    """UTF-8 text lines ``WORD v1 ... vD`` in chunks of rows; values in shortest round-trip float32 form
    (pyarrow, C speed). The chunks are the bytes of one whole-matrix encoding, cut at line ends."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if header:
        yield f"{len(vectors)} {vectors.dim}\n".encode()
    step = chunk_rows(vectors).step
    for start in chunk_rows(vectors):
        rows = vectors.matrix[start: start + step]  # (n, D)
        cols = [pa.array(vectors.words[start: start + step], type=pa.string())]
        cols += [pa.array(rows[:, j]).cast(pa.string()) for j in range(vectors.dim)]
        lines = pc.binary_join_element_wise(*cols, " ")
        body = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines), "\n")[0]
        yield memoryview(body.as_buffer())  # the joined lines, without a copy into a Python object
        yield b"\n"

