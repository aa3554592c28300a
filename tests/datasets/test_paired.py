"""mmwe.datasets.paired: paired-table loading (label CSV, .npy, word vectors). (The `mmwe mnno` command:
tests/metrics/test_overlap_cli.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.datasets.paired import load_pair, read_label_csv
from mmwe.errors import MmweError
from tests.datasets.conftest import write


def test_read_label_csv_trailing_comma_and_spaces(tmp_path):
    p = write(tmp_path / "a.csv", "40 115 122,1.5,-2,3e-1,\n\n7 9,0,0.25,1,\n")
    labels, M = read_label_csv(p)
    assert labels == ["40 115 122", "7 9"]
    assert M.dtype == np.float32
    np.testing.assert_array_equal(M, np.array([[1.5, -2, 0.3], [0, 0.25, 1]], dtype=np.float32))


@pytest.mark.parametrize("text,match", [
    ("a,1,2\nb,1,x\n", r"b\.csv:2: column 3: expected a number, got 'x'"),
    ("a,1,2\nb,1,nan\n", r"b\.csv:2: column 3: expected a finite number, got 'nan'"),
    ("a,1,2\nb,\n", r"b\.csv:2: expected label,v1,...,vd; got a label with no values"),
    ("a,1,2\nb\n", r"b\.csv:2: expected label,v1,...,vd; got a label with no values"),
    ("a,1,2\nb,1,2,3\n", r"b\.csv:2: expected 2 values \(as on the first row\), got 3"),
    ("word,d1,d2\na,1,2\n", r"b\.csv:1: column 2: expected a number, got 'd1'; is there a header line"),
    ("\n\n", r"b\.csv: expected rows label,v1,...,vd; got no rows"),
])
def test_read_label_csv_errors(tmp_path, text, match):
    with pytest.raises(MmweError, match=match):
        read_label_csv(write(tmp_path / "b.csv", text))


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(MmweError, match="file not found"):
        read_label_csv(tmp_path / "nope.csv")
    (tmp_path / "bin.csv").write_bytes(b"a,1\n\xff\xfe,2\n")
    with pytest.raises(MmweError, match="expected UTF-8 text"):
        read_label_csv(tmp_path / "bin.csv")


def test_csv_pairs_by_row_when_labels_equal(tmp_path):
    a = write(tmp_path / "a.csv", "x y,1,2\nx y,3,4\nz,5,6\n")  # repeated labels, as in IAPR
    b = write(tmp_path / "b.csv", "x y,9\nx y,8\nz,7\n")
    A, B, names = load_pair(a, b)
    assert names == ["x y", "x y", "z"] and A.shape == (3, 2) and B.shape == (3, 1)
    np.testing.assert_array_equal(B[:, 0], [9, 8, 7])


def test_csv_pairs_by_shared_unique_labels(tmp_path):
    a = write(tmp_path / "a.csv", "cat,1,0\ndog,0,1\nemu,1,1\n")
    b = write(tmp_path / "b.csv", "dog,20\nfox,30\ncat,10\n")
    A, B, names = load_pair(a, b)
    assert names == ["cat", "dog"]
    np.testing.assert_array_equal(B[:, 0], [10, 20])
    np.testing.assert_array_equal(A, [[1, 0], [0, 1]])


def test_csv_differing_repeated_labels_is_an_error(tmp_path):
    a = write(tmp_path / "a.csv", "x,1\nx,2\ny,3\n")
    b = write(tmp_path / "b.csv", "y,1\nx,2\nx,3\n")
    with pytest.raises(MmweError, match="label 'x' repeats; give both files in the same row order"):
        load_pair(a, b)


def test_npy_pairs_by_row_and_checks(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "a.npy", rng.standard_normal((5, 3)))
    np.save(tmp_path / "b.npy", rng.standard_normal((5, 4)).astype(np.float32))
    A, B, names = load_pair(tmp_path / "a.npy", tmp_path / "b.npy")
    assert A.shape == (5, 3) and B.shape == (5, 4) and A.dtype == np.float32 and names == list("01234")
    np.save(tmp_path / "c.npy", np.zeros((4, 3)))
    with pytest.raises(MmweError, match=r"a\.npy has 5, .*c\.npy has 4"):
        load_pair(tmp_path / "a.npy", tmp_path / "c.npy")
    bad = np.ones((4, 2))
    bad[2, 0] = np.inf
    np.save(tmp_path / "d.npy", bad)
    with pytest.raises(MmweError, match=r"d\.npy: row 3: expected finite values"):
        load_pair(tmp_path / "d.npy", tmp_path / "c.npy")
    np.save(tmp_path / "e.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(MmweError, match="needs pickle"):
        load_pair(tmp_path / "e.npy", tmp_path / "c.npy")
    np.save(tmp_path / "f.npy", np.zeros(4))
    with pytest.raises(MmweError, match="expected a 2-D numeric matrix"):
        load_pair(tmp_path / "f.npy", tmp_path / "c.npy")


def test_word_vector_files_pair_by_shared_words(tmp_path):
    a = write(tmp_path / "a.txt", "3 2\ncat 1 0\ndog 0 1\nemu 1 1\n")
    b = write(tmp_path / "b.txt", "2 3\ndog 4 5 6\ncat 1 2 3\n")
    A, B, names = load_pair(a, b)
    assert names == ["cat", "dog"]
    np.testing.assert_array_equal(B, [[1, 2, 3], [4, 5, 6]])


def test_iapr_tables(iapr_dir):
    A, B, names = load_pair(iapr_dir / "TS_lang_biGRU.csv", iapr_dir / "TS_vis_vgg128.csv")
    assert A.shape == (1962, 64) and B.shape == (1962, 128) and len(names) == 1962
    assert all(all(t.isdigit() for t in n.split()) for n in names)
