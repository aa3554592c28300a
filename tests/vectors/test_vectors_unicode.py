"""Words that are not valid UTF-8 (a cp1252 em dash, byte 0x97, as in gensim's pang_lee_polarity_fasttext.vec):
refused by default with the line named, read with unicode_errors="replace" or "ignore" by every reader."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.vectors import load

WORDS = [b"the", b"caf\xe9", b"\x97", b"em\x97dash", b"ok"]  # cp1252 bytes, not UTF-8
MATRIX = np.arange(15, dtype=np.float32).reshape(5, 3) / 4
REPLACED = ["the", "caf\ufffd", "\ufffd", "em\ufffddash", "ok"]
IGNORED = ["the", "caf", "emdash", "ok"]  # b"\x97" alone would be an empty word


def text_lines(words: list[bytes], matrix: np.ndarray) -> bytes:
    return b"".join(w + b" " + " ".join(f"{v:g}" for v in row).encode() + b"\n" for w, row in zip(words, matrix))


def write_format(tmp: Path, fmt: str, words: list[bytes], matrix: np.ndarray) -> Path:
    header = f"{len(words)} {matrix.shape[1]}\n".encode()
    if fmt == "word2vec":
        return _write(tmp / "v.vec", header + text_lines(words, matrix))
    if fmt == "glove":
        return _write(tmp / "v.txt", text_lines(words, matrix))
    if fmt == "gzip":
        return _write(tmp / "v.txt.gz", gzip.compress(header + text_lines(words, matrix)))
    if fmt == "word2vec-binary":
        body = b"".join(w + b" " + row.astype("<f4").tobytes() for w, row in zip(words, matrix))
        return _write(tmp / "v.bin", header + body)
    np.save(tmp / "v.npy", matrix)
    _write(tmp / "v.words.txt", b"\n".join(words) + b"\n")
    return tmp / "v.npy"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


FORMATS = ["word2vec", "glove", "gzip", "word2vec-binary", "npy"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_strict_by_default_names_the_line(tmp_path, fmt):
    path = write_format(tmp_path, fmt, WORDS, MATRIX)
    with pytest.raises(MmweError, match=r"not valid UTF-8.*unicode_errors='replace'") as exc:
        load(path)
    if fmt in ("word2vec", "gzip"):
        assert ":3:" in str(exc.value)  # header, "the", then the first bad word (line 3)
    elif fmt == "glove":
        assert ":2:" in str(exc.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_replace_reads_every_format(tmp_path, fmt):
    path = write_format(tmp_path, fmt, WORDS, MATRIX)
    vec = load(path, unicode_errors="replace")
    assert vec.words == REPLACED
    np.testing.assert_array_equal(vec.matrix, MATRIX)
    assert load(path, unicode_errors="replace", limit=2).words == REPLACED[:2]


@pytest.mark.parametrize("fmt", FORMATS)
def test_ignore_drops_the_bytes(tmp_path, fmt):
    keep = [0, 1, 3, 4]
    path = write_format(tmp_path, fmt, [WORDS[i] for i in keep], MATRIX[keep])
    vec = load(path, unicode_errors="ignore")
    assert vec.words == IGNORED
    np.testing.assert_array_equal(vec.matrix, MATRIX[keep])


def test_ignore_refuses_a_word_that_becomes_empty(tmp_path):
    path = write_format(tmp_path, "word2vec", WORDS, MATRIX)
    with pytest.raises(MmweError, match=r"v.vec:4: word b'\\x97' is empty once its undecodable bytes are dropped"):
        load(path, unicode_errors="ignore")


def test_words_that_become_equal_are_refused(tmp_path):
    path = write_format(tmp_path, "glove", [b"a\x97", b"a\x98", b"b"], MATRIX[:3])
    with pytest.raises(MmweError, match=r"v.txt:2: duplicate word 'a\ufffd' \(first on line 1\)"):
        load(path, unicode_errors="replace")


def test_bad_option():
    with pytest.raises(MmweError, match="unicode_errors must be one of strict, replace, ignore; got 'surrogate'"):
        load("glove-6b-50d", unicode_errors="surrogate")


def test_valid_utf8_unchanged_by_the_option(tmp_path):
    words = ["naïve", "東京", "x"]
    path = write_format(tmp_path, "word2vec", [w.encode() for w in words], MATRIX[:3])
    for errors in ("strict", "replace", "ignore"):
        assert load(path, unicode_errors=errors).words == words


def test_gensim_test_file_like_gensim():
    """gensim's own pang_lee_polarity_fasttext.vec (1,694 words; byte 0x97 alone on line 150, cp1252 accents)."""
    gensim = pytest.importorskip("gensim")
    path = Path(gensim.__file__).parent / "test" / "test_data" / "pang_lee_polarity_fasttext.vec"
    if not path.is_file():
        pytest.skip("gensim's test data is not installed")
    from gensim.models import KeyedVectors

    with pytest.raises(MmweError, match=r"pang_lee_polarity_fasttext.vec:150: word is not valid UTF-8 \(byte 0x97"):
        load(path)
    ours = load(path, unicode_errors="replace")
    theirs = KeyedVectors.load_word2vec_format(str(path), unicode_errors="replace")
    assert ours.words == list(theirs.index_to_key) and len(ours) == 1694
    np.testing.assert_array_equal(ours.matrix, theirs.vectors)
