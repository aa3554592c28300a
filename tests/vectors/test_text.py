"""mmwe.vectors.text: word2vec/GloVe text (BOM, CRLF, blank lines, trailing spaces, limit, gzip), malformed text
named by file and line, the validating slow path."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.vectors import Vectors, load, save
from tests.vectors.conftest import _assert_same, _tricky_vectors, _write

# -- tolerated variants --------------------------------------------------------------------------------


def test_bom_crlf_blank_lines_and_trailing_spaces(tmp_path):
    expect = Vectors(["a", "#b", "nan"], np.array([[1, 2], [3, 4], [5, 6]]))
    for text in ["\ufeff3 2\r\na 1 2\r\n#b 3 4\r\nnan 5 6\r\n",
                 "3 2\na 1 2 \n#b 3 4 \nnan 5 6 \n\n",  # the C word2vec tool ends lines with a space
                 "a 1 2\n\n#b 3 4 \nnan 5.0 6e0",  # GloVe, mixed trailing space (slow path), no final newline
                 "\ufeffa 1 2\r\n#b 3 4\r\nnan 5 6\r\n"]:
        _assert_same(load(_write(tmp_path / "v.txt", text)), expect)


def test_limit_on_text_with_header_and_gzip(tmp_path):
    v = _tricky_vectors()
    for name in ("l.txt", "l.txt.gz"):
        save(v, tmp_path / name)
        _assert_same(load(tmp_path / name, limit=5), v.subset(v.words[:5]))
        _assert_same(load(tmp_path / name, limit=10_000), v)
    _write(tmp_path / "rest_bad.txt", "3 2\na 1 2\nb 3 4\nc x y\n")  # lines past the limit are not read
    assert load(tmp_path / "rest_bad.txt", limit=2).words == ["a", "b"]


# -- malformed files: one MmweError naming file and line ------------------------------------------------

BAD_TEXT = [
    ("", r"bad\.txt:1: file is empty"),
    ("\n\n  \n", r"bad\.txt:1: file is empty"),
    ("3 x\na 1 2\n", r"bad\.txt:1: field 2 is 'x', not a number"),  # no header: read as GloVe
    ("0 2\n", r"bad\.txt:1: expected a header 'COUNT DIM'"),
    ("2 2\n\n", r"bad\.txt:3: header promises 2 vectors but the file has none"),
    ("3 2\na 1 2\nb 3 4\n", r"bad\.txt:4: header says 3 vectors but the file ends after 2"),
    ("1 2\na 1 2\nb 3 4\n", r"bad\.txt:3: header says 1 vectors but there are more lines"),
    ("a 1 2\nb 3 4\nc 5\n", r"bad\.txt:3: expected 2 values after the word \(set by line 1\), got 1"),
    ("2 3\na 1 2\nb 3 4\n", r"bad\.txt:2: expected 3 values after the word \(set by the header\), got 2"),
    ("a 1 2\nb 3 x4\n", r"bad\.txt:2: field 3 is 'x4', not a number"),
    ("a 1 2\nb 3  4\n", r"bad\.txt:2: empty field 3 \(two spaces in a row\)"),
    ("a 1 2\nb 1_0 4\n", r"bad\.txt:2: field 2 is '1_0', not a number"),
    ("a 1 2\nb nan 4\n", r"bad\.txt:2: field 2 is 'nan', not a finite float32 number"),
    ("a 1 2\nb 3 -inf\n", r"bad\.txt:2: field 3 is '-inf', not a finite float32 number"),
    ("a 1 2\nb 3 1e39\n", r"bad\.txt:2: field 3 is '1e39', not a finite float32 number"),
    ("a 1 2\nb 3 4\nc 5 6\nb 7 8\n", r"bad\.txt:4: duplicate word 'b' \(first on line 2\)"),
    ("2 2\na 1 2\na 3 4\n", r"bad\.txt:3: duplicate word 'a' \(first on line 2\)"),
    ("a 1 2\n 3 4\n", r"bad\.txt:2: line starts with a space"),
    ("a\nb\n", r"bad\.txt:1: expected WORD followed by numbers"),
    (b"a 1 2\nb\xff 3 4\n", r"bad\.txt:2: word is not valid UTF-8 \(byte 0xff at position 1\)"),
    (b"\xef\xbb\xbfa 1 2\r\nb 3 x\r\n", r"bad\.txt:2: field 3 is 'x'"),
]


@pytest.mark.parametrize("data,match", BAD_TEXT)
def test_malformed_text(tmp_path, data, match):
    path = _write(tmp_path / "bad.txt", data)
    with pytest.raises(MmweError, match=match):
        load(path)


def test_bad_header_with_explicit_format(tmp_path):
    path = _write(tmp_path / "bad.txt", "the 1 2\na 1 2\n")
    with pytest.raises(MmweError, match=r"bad\.txt:1: expected a header 'COUNT DIM' \(two positive integers\), "
                                         r"got 'the 1 2'; fix: for a file without header use format glove"):
        load(path, fmt="word2vec")
    _assert_same(load(path, fmt="glove"), Vectors(["the", "a"], np.array([[1, 2], [1, 2]])))


def test_malformed_gzip(tmp_path):
    good = gzip.compress(b"a 1 2\nb 3 4\n" * 1)
    with pytest.raises(MmweError, match=r"bad\.txt\.gz: gzip data is damaged or truncated"):
        load(_write(tmp_path / "bad.txt.gz", good[:-6]))
    with pytest.raises(MmweError, match=r"bad2\.txt\.gz:2: field 2 is 'q'"):
        load(_write(tmp_path / "bad2.txt.gz", gzip.compress(b"a 1 2\nb q 4\n")))


def test_slow_path_parses_real_data_like_the_fast_path(tmp_path, glove_slice):
    """A valid file the C parser rejects (one line with a trailing space) goes through the validating pass."""
    path = tmp_path / "g.txt"
    save(glove_slice, path)
    lines = path.read_bytes().split(b"\n")
    lines[5] += b" "
    _write(tmp_path / "mixed.txt", b"\n".join(lines))
    _assert_same(load(tmp_path / "mixed.txt"), glove_slice)
    _assert_same(load(tmp_path / "mixed.txt", limit=10), glove_slice.subset(glove_slice.words[:10]))
