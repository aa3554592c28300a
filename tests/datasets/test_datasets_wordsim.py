"""mmwe.datasets.wordsim: the built-in word-similarity benchmarks and benchmark files (tabs, spaces, comments; bad
lines named by file and line)."""

from __future__ import annotations

import pytest

from mmwe.datasets.wordsim import BUILTIN_BENCHMARKS, load_benchmark
from mmwe.errors import MmweError

SIZES = {"men": 3000, "wordsim353": 353, "ws353-rel": 252, "ws353-sim": 203, "rg65": 65, "rw": 2034, "mturk287": 287,
         "simlex999": 999, "simverb3500": 3500, "mturk771": 771, "yp130": 130}


# -- reading benchmarks -----------------------------------------------------------------------------
def test_builtin_benchmarks_load_with_expected_sizes():
    assert set(BUILTIN_BENCHMARKS) == set(SIZES)
    for name, size in SIZES.items():
        b = load_benchmark(name)
        assert b.name == name and len(b) == size and b.scores.shape == (size,)
        assert all(w == w.lower() for p in b.pairs for w in p)
    assert ("tiger", "cat") == load_benchmark("wordsim353").pairs[1]
    assert ("computer", "keyboard") == load_benchmark("ws353-rel").pairs[0]
    assert ("Jerusalem", "Israel") == load_benchmark("ws353-rel", lowercase=False).pairs[1]
    assert load_benchmark("mturk287").scores[0] == pytest.approx(2.75)  # CRLF file


def test_benchmark_from_path_tab_space_comments(tmp_path):
    p = tmp_path / "mine.txt"
    p.write_text("# comment\n\nCat dog 7.5\r\nnew york\tcity\t8\n  sun   moon  -1e0 \n", encoding="utf-8")
    b = load_benchmark(p)
    assert b.name == "mine"
    assert b.pairs == [("cat", "dog"), ("new york", "city"), ("sun", "moon")]
    assert b.scores.tolist() == [7.5, 8.0, -1.0]
    assert load_benchmark(str(p), lowercase=False).pairs[0] == ("Cat", "dog")


@pytest.mark.parametrize(
    "content,match",
    [
        ("a b 1\na b\n", r"bad\.txt:2: expected 3 fields .* got 2"),
        ("a b 1\n# c\na b c d\n", r"bad\.txt:3: expected 3 fields .* got 4"),
        ("a b high\n", r"bad\.txt:1: expected a numeric score .* 'high'"),
        ("a b nan\n", r"bad\.txt:1: expected a numeric score"),
        ("", r"bad\.txt: expected .* got no word pairs"),
        ("# only a comment\n\n", r"got no word pairs"),
    ],
)
def test_bad_benchmark_files(tmp_path, content, match):
    p = tmp_path / "bad.txt"
    p.write_text(content)
    with pytest.raises(MmweError, match=match):
        load_benchmark(p)


def test_undecodable_benchmark_names_the_line(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"a b 1\nc d 2\ncaf\xe9 e 3\n")
    with pytest.raises(MmweError, match=r"bad\.txt:3: expected UTF-8 text, got byte 0xe9"):
        load_benchmark(p)


def test_unknown_benchmark_lists_builtins(tmp_path):
    with pytest.raises(MmweError, match="'simlex' is neither a built-in.*men, wordsim353, ws353-rel.*simlex999"):
        load_benchmark("simlex")
    with pytest.raises(MmweError, match="is a folder"):
        load_benchmark(tmp_path)
