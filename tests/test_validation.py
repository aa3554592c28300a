"""mmwe.validation: the matrix, pair, choice, range and k checks."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.validation import check_choice, check_k, check_matrix, check_paired, check_range


# -- check_matrix -----------------------------------------------------------------------------------------
def test_check_matrix_converts_to_contiguous_float32_without_needless_copies():
    X = np.arange(6, dtype=np.float64).reshape(2, 3)
    M = check_matrix(X)
    assert M.dtype == np.float32 and M.flags.c_contiguous
    np.testing.assert_array_equal(M, X)
    F = np.asfortranarray(np.ones((3, 2), np.float32))
    assert check_matrix(F).flags.c_contiguous
    same = np.ones((2, 2), np.float32)
    assert check_matrix(same) is same
    assert check_matrix(same, copy=True) is not same
    ints = np.ones((2, 2), np.int64)
    assert check_matrix(ints, dtype=None) is ints  # dtype=None keeps the dtype
    assert check_matrix([[1.5, 2.0]]).shape == (1, 2)  # nested lists are fine


def test_check_matrix_type_and_shape_errors():
    with pytest.raises(MmweError, match=r"^X: expected a numeric matrix, got list; fix: pass a 2-D numpy array$"):
        check_matrix([[1.0, 2.0], [3.0]])
    with pytest.raises(MmweError, match=re.escape("X: expected a 2-D matrix (rows x dims), got shape (3,); "
                                                  "fix: reshape to (N, d), e.g. X.reshape(1, -1) for one vector")):
        check_matrix(np.zeros(3))
    with pytest.raises(MmweError, match=re.escape("emb: expected real numbers, got dtype <U1; "
                                                  "fix: convert with .astype('float32')")):
        check_matrix(np.array([["a", "b"]]), name="emb")
    for bad in (np.zeros((2, 2), bool), np.zeros((2, 2), complex), np.zeros((2, 2), object)):
        with pytest.raises(MmweError, match="expected real numbers, got dtype"):
            check_matrix(bad)


def test_check_matrix_rows_and_columns():
    with pytest.raises(MmweError, match=r"^X: expected at least 1 rows, got 0; fix: add rows$"):
        check_matrix(np.zeros((0, 3)))
    with pytest.raises(MmweError, match=r"^X: expected at least 1 columns, got 0; fix: add columns$"):
        check_matrix(np.zeros((3, 0)))
    with pytest.raises(MmweError, match=r"^X: expected at least 4 rows, got 3; fix: add rows$"):
        check_matrix(np.zeros((3, 2)), min_rows=4)
    assert check_matrix(np.zeros((0, 0)), min_rows=0, min_cols=0).shape == (0, 0)


def test_check_matrix_finite_reports_first_bad_row_one_based():
    X = np.ones((10, 3))
    X[4, 1] = np.nan
    X[7, 0] = np.inf
    with pytest.raises(MmweError, match=re.escape("X: expected finite values, got NaN/inf in row 5 (2 of 10 rows); "
                                                  "fix: drop or fix those rows")):
        check_matrix(X)
    assert np.isnan(check_matrix(X, finite=False)[4, 1])
    big = np.ones((2, 2))
    big[1, 1] = 1e39  # beyond float32: becomes inf, so it is refused too (and no overflow warning escapes)
    with pytest.raises(MmweError, match="NaN/inf in row 2"), warnings.catch_warnings():
        warnings.simplefilter("error")
        check_matrix(big)
    assert check_matrix(big, dtype=np.float64)[1, 1] == 1e39
    many = np.ones((70_000, 2), np.float32)  # more than one chunk of the row scan
    many[66_000, 0] = np.nan
    with pytest.raises(MmweError, match=r"row 66001 \(1 of 70000 rows\)"):
        check_matrix(many)


def test_check_matrix_messages_labels_and_path(tmp_path):
    X = np.ones((3, 2))
    X[1, 0] = np.nan
    X[2, :] = np.inf
    msgs = {"finite": "row {row} (index {index}, {label!r}): {bad_rows} rows, {bad_values} values"}
    with pytest.raises(MmweError, match=r"v\.npy: row 2 \(index 1, 'b'\): 2 rows, 3 values$"):
        check_matrix(X, labels=["a", "b", "c"], path=tmp_path / "v.npy", messages=msgs)
    with pytest.raises(MmweError, match=r"^m: shape \(2,\) dtype float64$"):
        check_matrix(np.zeros(2), name="m", messages={"ndim": "{name}: shape {shape} dtype {dtype}"})


# -- check_paired -----------------------------------------------------------------------------------------
def test_check_paired():
    X, Y = check_paired(np.ones((4, 3)), np.ones((4, 2), np.float32))
    assert X.dtype == Y.dtype == np.float32
    with pytest.raises(MmweError, match=re.escape(
            "expected X and Y with the same number of rows: got 4 and 3 (row i of one pairs with row i of the "
            "other); fix: pair the rows first, e.g. with mmwe.datasets.paired.load_pair")):
        check_paired(np.ones((4, 3)), np.ones((3, 3)))
    with pytest.raises(MmweError, match=r"^right: expected a 2-D matrix"):
        check_paired(np.ones((4, 3)), np.ones(4), names=("left", "right"))
    with pytest.raises(MmweError, match=r"^a: expected at least 5 rows, got 4"):
        check_paired(np.ones((4, 3)), np.ones((4, 3)), names=("a", "b"), min_rows=5)


# -- choices, ranges, k -----------------------------------------------------------------------------------
def test_check_choice():
    assert check_choice("loss", "mse", ("mse", "cosine")) == "mse"
    assert check_choice("activation", "relu", {"relu": 1, "tanh": 2}) == "relu"  # any iterable of names
    with pytest.raises(MmweError, match=r"^expected loss in \{mse, cosine\}, got 'hinge'$"):
        check_choice("loss", "hinge", ("mse", "cosine"))
    with pytest.raises(MmweError, match=r"^expected loss in \{mse, cosine\}, got 'hinge'; fix: use --loss mse$"):
        check_choice("loss", "hinge", ("mse", "cosine"), fix="use --loss mse")


def test_check_range():
    assert check_range("dropout", 0.0, 0.0, 1.0, hi_open=True) == 0.0
    with pytest.raises(MmweError, match=r"^expected dropout in \[0\.0, 1\.0\), got 1\.0$"):
        check_range("dropout", 1.0, 0.0, 1.0, hi_open=True)
    with pytest.raises(MmweError, match=r"^expected lr in \(0, inf\], got 0$"):
        check_range("lr", 0, 0, float("inf"), lo_open=True)
    with pytest.raises(MmweError, match=r"^expected margin in \[0\.0, inf\], got nan$"):
        check_range("margin", float("nan"), 0.0, float("inf"))
    with pytest.raises(MmweError, match=r"^expected x in \[1, 2\], got 3; fix: lower it$"):
        check_range("x", 3, 1, 2, fix="lower it")


def test_check_k():
    assert check_k(3, 4) == 3 and check_k(1) == 1
    with pytest.raises(MmweError, match=r"^k must be at least 1, got 0$"):
        check_k(0, 10)
    with pytest.raises(MmweError, match=r"^first set: k=10 neighbours need at least 11 rows, got 10; "
                                        r"fix: lower --k or add rows$"):
        check_k(10, 10, name="first set")
