"""`mmwe mnno --alignment`: the eight metrics under their JSON names, the preprocessing flags, bad options."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmwe.metrics.alignment import KNN_METRICS, alignment_report, preprocess
from tests.conftest import run_cli as main

NAMES = ("mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn", "cka", "unbiased_cka", "cknna", "svcca")


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((80, 12)) * rng.uniform(0.5, 3, (80, 1))  # row norms that differ
    B = A @ rng.standard_normal((12, 15)) + 0.8 * rng.standard_normal((80, 15))
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "b.npy", B)
    # the CLI reads vectors as float32
    return str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), A.astype(np.float32), B.astype(np.float32)


def run_json(argv, capsys) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_json_names_and_library_agreement(pair, capsys):
    a, b, A, B = pair
    r = run_json(["mnno", a, b, "--k", "6", "--alignment", "--permutations", "9", "--json"], capsys)
    assert set(NAMES) <= set(r) and r["mutual_knn"] == r["mnno"]
    for name in KNN_METRICS:
        assert {f"{name}_chance", f"{name}_null_mean", f"{name}_null_std", f"{name}_p_value"} <= set(r)
    expect = alignment_report(A, B, k=6, permutations=9)
    for name in NAMES:
        assert r[name] == pytest.approx(expect[name], rel=1e-12), name
    assert r["l2_normalize"] is False and r["clip_quantile"] is None and r["kernel"] == "linear"


def test_preprocessing_flags(pair, capsys):
    a, b, A, B = pair
    raw = run_json(["mnno", a, b, "--k", "6", "--alignment", "--json"], capsys)
    l2 = run_json(["mnno", a, b, "--k", "6", "--alignment", "--l2-normalize", "--json"], capsys)
    for name in KNN_METRICS:  # cosine neighbours ignore row norms
        assert l2[name] == raw[name], name
    assert l2["cka"] != pytest.approx(raw["cka"], abs=1e-5)
    A2, B2 = (preprocess(X, l2_normalize=True) for X in (A, B))
    assert l2["cka"] == pytest.approx(alignment_report(A2, B2, k=6)["cka"], rel=1e-6)
    both = run_json(["mnno", a, b, "--k", "6", "--alignment", "--l2-normalize", "--clip-quantile", "0.9",
                     "--kernel", "rbf", "--json"], capsys)
    A3, B3 = (preprocess(X, clip_quantile=0.9, l2_normalize=True) for X in (A, B))
    expect = alignment_report(A3, B3, k=6, kernel="rbf")
    assert both["kernel"] == "rbf" and both["clip_quantile"] == 0.9
    for name in NAMES:
        assert both[name] == pytest.approx(expect[name], rel=1e-6, abs=1e-9), name


def test_table_output(pair, capsys):
    a, b, _, _ = pair
    assert main(["mnno", a, b, "--k", "6", "--alignment", "--permutations", "5"]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert name in out
    assert "chance" in out and "null" in out


@pytest.mark.parametrize("extra,match", [
    (["--clip-quantile", "1.5"], r"expected the clip quantile in \(0.0, 1.0\], got 1.5"),
    (["--clip-quantile", "0"], r"expected the clip quantile in \(0.0, 1.0\], got 0"),
    (["--kernel", "poly"], "--kernel"),
    (["--kernel", "rbf", "--rbf-sigma", "0"], "sigma > 0"),
    (["--k", "1"], "cknna needs k >= 2"),
])
def test_bad_options_one_line_exit_2(pair, capsys, extra, match):
    a, b, _, _ = pair
    assert main(["mnno", a, b, "--alignment", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert pytest.importorskip("re").search(match, err), err
