"""mmwe.corpus.tokenize: the paper's tokenizer and the Vocabulary (ids, order, files)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmwe.corpus.tokenize import PAPER_MIN_COUNT, SPECIALS, Vocabulary, tokenize
from mmwe.errors import MmweError


@pytest.mark.parametrize("sentence, expected", [
    ("A man riding a wave on top of a surfboard.",
     ["a", "man", "riding", "a", "wave", "on", "top", "of", "a", "surfboard"]),
    ("grinning face : face , grin", ["grinning", "face", "face", "grin"]),
    ("medium-light skin tone | type 1–2", ["medium", "light", "skin", "tone", "type", "1", "2"]),
    ("Don't STOP me’now", ["dont", "stop", "menow"]),  # apostrophes join, as in "don't" -> "dont"
    ("snake_case #hashtag @user 3.14", ["snake", "case", "hashtag", "user", "3", "14"]),
    ("Café crème ﬁne", ["café", "crème", "fine"]),  # letters with accents are alphanumeric; NFKC splits the ligature
    ("😀 🚀 !!!", []),
    ("", []),
])
def test_tokenize_exact(sentence, expected):
    assert tokenize(sentence) == expected


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_tokenize_idempotent_and_clean(s):
    words = tokenize(s)
    assert tokenize(" ".join(words)) == words
    for w in words:
        assert w and all(ch.isalnum() for ch in w)


def test_specials_and_order():
    v = Vocabulary.build({"dog": 5, "cat": 5, "ant": 9, "emu": 2, "rare": 1}, min_count=2)
    assert v.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "ant", "cat", "dog", "emu"]  # count desc, then word
    assert (v.stoi["<pad>"], v.stoi["<unk>"], v.stoi["<bos>"], v.stoi["<eos>"]) == (0, 1, 2, 3)
    assert v.counts == [0, 0, 0, 0, 9, 5, 5, 2]
    assert len(v) == 8 and "rare" not in v and "cat" in v


def test_build_max_size_and_paper_default():
    counts = {f"w{i}": 100 - i for i in range(60)}
    v = Vocabulary.build(counts, min_count=1, max_size=3)
    assert v.itos[4:] == ["w0", "w1", "w2"]
    paper = Vocabulary.build({"fifty": 50, "fiftyone": 51})  # "more than 50 times"
    assert PAPER_MIN_COUNT == 51 and paper.itos[4:] == ["fiftyone"]


def test_encode_decode():
    v = Vocabulary.build({"red": 3, "apple": 2}, min_count=1)
    assert v.encode(["red", "apple", "pear"]) == [4, 5, 1]
    assert v.encode(["red"], bos_eos=True) == [2, 4, 3]
    assert v.decode([2, 4, 5, 3]) == ["<bos>", "red", "apple", "<eos>"]


@pytest.mark.parametrize("name", ["vocab.json", "vocab.tsv"])
def test_save_load_roundtrip(tmp_path, name):
    v = Vocabulary.build({"ünïcode": 4, "tab": 3, "x": 1}, min_count=1)
    v.save(tmp_path / name)
    w = Vocabulary.load(tmp_path / name)
    assert w.itos == v.itos and w.counts == v.counts and w.stoi == v.stoi


def test_tsv_format_and_specials_not_duplicated(tmp_path):
    v = Vocabulary.build({"b": 2, "a": 2}, min_count=1)
    v.save(tmp_path / "v.tsv")
    assert (tmp_path / "v.tsv").read_text() == "a\t2\nb\t2\n"
    (tmp_path / "w.tsv").write_text("<unk>\t0\nhello\nworld\t7\n")  # bare words and a special are tolerated
    w = Vocabulary.load(tmp_path / "w.tsv")
    assert w.itos == [*SPECIALS, "hello", "world"] and w.counts[4:] == [0, 7]


def test_load_errors(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("ok\t1\nbroken\tmany\n")
    with pytest.raises(MmweError, match=r"bad.tsv:2: expected 'word<TAB>count'"):
        Vocabulary.load(bad)
    (tmp_path / "bad.json").write_text(json.dumps({"nope": 1}))
    with pytest.raises(MmweError, match="expected a JSON vocabulary"):
        Vocabulary.load(tmp_path / "bad.json")
    with pytest.raises(MmweError, match="vocabulary file not found"):
        Vocabulary.load(tmp_path / "missing.tsv")
    with pytest.raises(MmweError, match="each word once"):
        Vocabulary(["a", "a"])
    with pytest.raises(MmweError, match="min_count >= 1"):
        Vocabulary.build({"a": 1}, min_count=0)
