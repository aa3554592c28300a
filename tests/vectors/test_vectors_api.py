"""mmwe.vectors.api: load, save and detect_format over every file format (round trips, real GloVe, gensim interop),
the first fault named, argument and unwritable-value errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmwe.errors import MmweError
from mmwe.vectors import Vectors, detect_format, load, save
from tests.vectors.conftest import _assert_same, _binary, _tricky_vectors, _write


@pytest.mark.parametrize("name,data,fmt,match", [
    # a duplicate before a malformed line: the duplicate (the first fault in the file) is named
    ("t.txt", "a 1 2\nb 3 4\na 5 6\nc 7\n", None, r"t\.txt:3: duplicate word 'a' \(first on line 1\)"),
    ("t.txt", "3 2\na 1 2\na 5 6\n", None, r"t\.txt:3: duplicate word 'a' \(first on line 2\)"),
    ("b.bin", _binary([b"a", b"a", b"c" * 30], np.ones((3, 3)))[:-5], "word2vec-binary",
     r"record 2 \(byte offset \d+\) has duplicate word 'a' \(first at record 1\)"),
    ("m.words.txt", "a\na\n\n", None, r"m\.words\.txt:2: duplicate word 'a' \(first on line 1\)"),
])
def test_the_first_fault_is_named(tmp_path, name, data, fmt, match):
    path = _write(tmp_path / name, data if isinstance(data, bytes) else data.encode())
    if name.endswith(".words.txt"):
        np.save(tmp_path / "m.npy", np.ones((3, 2), np.float32))
        path = tmp_path / "m.npy"
    with pytest.raises(MmweError, match=match):
        load(path, fmt=fmt)


# -- round trips --------------------------------------------------------------------------------------

FILE_CASES = [("v.txt", None, "word2vec"), ("v.vec", None, "word2vec"), ("v.txt", "glove", "glove"),
              ("v.bin", None, "word2vec-binary"), ("v.npy", None, "npy"), ("v.txt.gz", None, "word2vec"),
              ("v.glove.gz", "glove", "glove"), ("v.bin.gz", None, "word2vec-binary"), ("v.dat", "word2vec-binary",
              "word2vec-binary")]


@pytest.mark.parametrize("name,fmt,detected", FILE_CASES)
def test_round_trip_tricky_words(tmp_path, name, fmt, detected):
    v = _tricky_vectors()
    path = tmp_path / name
    save(v, path, fmt=fmt)
    assert detect_format(path) == (detected, name.endswith(".gz"))
    back = load(path)
    _assert_same(back, v)
    assert back.source == str(path)
    _assert_same(load(path, fmt=detected, limit=4), v.subset(v.words[:4]))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # atomic writes leave nothing behind


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=" \t\n\r\v\f"),
                        min_size=1, max_size=8), min_size=1, max_size=6, unique=True),
       st.integers(1, 4), st.sampled_from(["v.txt", "v.bin", "v.npy", "glove"]), st.data())
def test_round_trip_random_words_and_values(tmp_path_factory, words, dim, target, data):
    floats = st.floats(width=32, allow_nan=False, allow_infinity=False)
    values = data.draw(st.lists(floats, min_size=len(words) * dim, max_size=len(words) * dim))
    v = Vectors(words, np.array(values, dtype=np.float32).reshape(len(words), dim))
    path = tmp_path_factory.mktemp("rt") / ("v.txt" if target == "glove" else target)
    save(v, path, fmt="glove" if target == "glove" else None)
    try:
        back = load(path)
    except MmweError:
        # A GloVe file whose first line is "INT INT" reads as a word2vec header; explicit fmt resolves it.
        assert target == "glove"
        back = load(path, fmt="glove")
    _assert_same(back, v)


@pytest.mark.parametrize("name,fmt", [("g.txt", None), ("g.txt", "glove"), ("g.bin", None), ("g.npy", None),
                                      ("g.vec.gz", None)])
def test_real_glove_round_trip(tmp_path, glove_slice, name, fmt):
    path = tmp_path / name
    save(glove_slice, path, fmt=fmt)
    _assert_same(load(path), glove_slice)


@pytest.mark.parametrize("binary,no_header", [(False, False), (False, True), (True, False)])
def test_gensim_reads_ours_and_we_read_gensims(tmp_path, glove_slice, binary, no_header):
    v = glove_slice.subset(glove_slice.words[-3000:])
    kv = v.to_gensim()
    theirs = tmp_path / ("theirs.bin" if binary else "theirs.txt")
    kv.save_word2vec_format(str(theirs), binary=binary, write_header=not no_header)
    _assert_same(load(theirs), v)
    ours = tmp_path / ("ours.bin" if binary else "ours.txt")
    save(v, ours, fmt="glove" if no_header else None)
    kv2 = type(kv).load_word2vec_format(str(ours), binary=binary, no_header=no_header)
    assert list(kv2.index_to_key) == v.words
    np.testing.assert_array_equal(kv2.vectors, v.matrix)


def test_format_detection_ignores_misleading_suffix(tmp_path):
    v = _tricky_vectors()
    save(v, tmp_path / "really_text.bin", fmt="word2vec")
    save(v, tmp_path / "really_binary.txt", fmt="word2vec-binary")
    _assert_same(load(tmp_path / "really_text.bin"), v)
    _assert_same(load(tmp_path / "really_binary.txt"), v)


def test_argument_errors(tmp_path):
    with pytest.raises(MmweError, match=r"nope\.txt: vector file not found; expected a file or a built-in name"):
        load(tmp_path / "nope.txt")
    with pytest.raises(MmweError, match="unknown vector format 'xml'"):
        load("glove-6b-50d", fmt="xml")
    with pytest.raises(MmweError, match="limit must be a positive integer, got 0"):
        load("glove-6b-50d", limit=0)


def test_save_rejects_unwritable_words_and_values(tmp_path):
    with pytest.raises(MmweError, match=r"w\.txt: word 2 \('a b'\) contains whitespace"):
        save(Vectors(["a", "a b"], np.ones((2, 2))), tmp_path / "w.txt")
    with pytest.raises(MmweError, match=r"w\.bin: word 1 \(''\) is empty"):
        save(Vectors(["", "b"], np.ones((2, 2))), tmp_path / "w.bin")
    with pytest.raises(MmweError, match=r"w\.npy: word 1 \('a\\nb'\) contains a line break"):
        save(Vectors(["a\nb"], np.ones((1, 2))), tmp_path / "w.npy")
    with pytest.raises(MmweError, match=r"vector of 'b' \(row 2\) holds a NaN or infinite value"):
        save(Vectors(["a", "b"], np.array([[1, 2], [np.inf, 0]])), tmp_path / "w.txt")
    save(Vectors(["a b"], np.ones((1, 2))), tmp_path / "ok.npy")  # spaces are fine in a words file
    assert load(tmp_path / "ok.npy").words == ["a b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.npy", "ok.words.txt"]
