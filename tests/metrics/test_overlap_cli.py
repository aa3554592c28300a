"""`mmwe mnno` on paired files (run in process through tests.conftest.run_cli): JSON, the table, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_cli as main
from tests.datasets.conftest import write


# -- CLI -----------------------------------------------------------------------------------------------------
def _pair_files(tmp_path, n=60):
    rng = np.random.default_rng(1)
    V = rng.standard_normal((n, 5))
    np.save(tmp_path / "v.npy", V)
    np.save(tmp_path / "z.npy", V @ rng.standard_normal((5, 7)) + 0.5 * rng.standard_normal((n, 7)))
    return str(tmp_path / "v.npy"), str(tmp_path / "z.npy")


def test_cli_json(tmp_path, capsys):
    a, b = _pair_files(tmp_path)
    assert main(["mnno", a, b, "--k", "5", "--permutations", "20", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert {"mnno", "n", "k", "metric", "include_self", "chance", "p_value"} <= set(r)
    assert "cka" not in r  # --alignment is off by default (a second pass)
    assert main(["mnno", a, b, "--k", "5", "--alignment", "--json"]) == 0
    r2 = json.loads(capsys.readouterr().out)
    assert {"mutual_knn", "cka"} <= set(r2) and r2["mnno"] == r["mnno"]
    assert r["n"] == 60 and r["k"] == 5 and r["include_self"] is False
    assert r["chance"] == pytest.approx(5 / 59) and r["mnno"] > r["chance"]


def test_cli_table_and_include_self(tmp_path, capsys):
    a, b = _pair_files(tmp_path)
    assert main(["mnno", a, b, "-k", "4", "--include-self", "--metric", "euclidean", "--backend", "faiss"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the table may wrap its title
    assert "mNNO@4 (euclidean, incl. self, faiss)" in out and "chance" in out


def test_cli_errors(tmp_path, capsys):
    a, b = _pair_files(tmp_path)
    assert main(["mnno", a, b, "--k", "60"]) == 2
    assert "need at least 61 rows, got 60" in capsys.readouterr().err
    assert main(["mnno", a, b, "--metric", "manhattan"]) == 2
    assert "--metric: expected cosine or euclidean" in capsys.readouterr().err
    bad = write(tmp_path / "bad.csv", "a,1,2\nb,1,oops\n")
    assert main(["mnno", str(bad), a]) == 2
    assert "bad.csv:2: column 3: expected a number" in capsys.readouterr().err
