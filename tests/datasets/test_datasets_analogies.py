"""mmwe.datasets.analogies: the built-in Google question set and the question format (blank lines, CRLF, repeated
sections; malformed lines named by file and line)."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.datasets.analogies import load_analogies, parse_analogies
from mmwe.errors import MmweError
from tests.datasets.conftest import GOOGLE_SECTIONS, _questions


# -- the question format ------------------------------------------------------------------------------------------
def test_builtin_google_set():
    aset = load_analogies("google")
    assert len(aset) == 19544 and aset.sections == GOOGLE_SECTIONS
    assert aset.questions[0] == ("Athens", "Greece", "Baghdad", "Iraq")
    assert np.bincount(aset.section).tolist()[:5] == [506, 4524, 866, 2467, 506]


def test_parse_blank_lines_crlf_and_repeated_sections():
    aset = _questions(": one\r\na b c d\r\n\r\n  \r\n: two\r\ne f g h\n: one\ni j k l\n")
    assert aset.sections == ["one", "two", "one"] and aset.section.tolist() == [0, 1, 2]
    assert aset.questions[1] == ("e", "f", "g", "h")


@pytest.mark.parametrize("text, line, match", [
    (": s\na b c d\na b c\n", 3, "expected 4 words `a b c d`"),
    (": s\na b c d e\n", 2, "expected 4 words"),
    ("a b c d\n", 1, "expected a section header `: NAME` before the first question"),
    (": s\n:nospace x y z\n", 2, "expected a section header `: NAME`"),
    (": s\na b c d\n: \n", 3, "expected a section header"),
])
def test_malformed_lines_name_file_and_line(text, line, match):
    with pytest.raises(MmweError, match=match) as exc:
        _questions(text)
    assert str(exc.value).startswith(f"toy.txt:{line}: ")


def test_bad_files():
    with pytest.raises(MmweError, match="toy.txt:2: expected UTF-8 text, got byte 0xff"):
        parse_analogies(b": s\na b \xff d\n", name="toy", path="toy.txt")
    with pytest.raises(MmweError, match="got no question"):
        _questions(": only a header\n\n")
    with pytest.raises(MmweError, match="neither a built-in question set nor an existing file"):
        load_analogies("no-such-set")
