"""mmwe.metrics.config: the evaluation commands' settings import without torch or scipy, their choices are the
library's (one home each), their help names every built-in, and the library functions take them."""

from __future__ import annotations

import subprocess
import sys
from typing import get_args

import numpy as np
import pytest

from mmwe.config import config_fields
from mmwe.datasets.analogies import BUILTIN_ANALOGIES
from mmwe.datasets.wordsim import BUILTIN_BENCHMARKS
from mmwe.devices import DEVICES
from mmwe.metrics import config as C
from mmwe.metrics.analogies import METHODS
from mmwe.neighbors import PRECISIONS, TIES
from mmwe.vectors import UNICODE_ERRORS, Vectors, save


def test_configs_import_without_torch_or_scipy():
    code = "import sys, mmwe.metrics.config; print([m for m in ('torch', 'scipy', 'sklearn') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_choices_are_the_library_ones():
    types = {f.name: f.type for f in config_fields(C.MnnoRun)}
    assert get_args(types["device"]) == DEVICES and get_args(types["ties"]) == TIES
    assert get_args(types["precision"]) == PRECISIONS and get_args(types["unicode_errors"]) == UNICODE_ERRORS
    assert METHODS == get_args(C.Method) == ("3cosadd", "3cosmul")


def test_help_names_every_builtin():
    helps = {f.name: f.help for f in config_fields(C.WordsimRun)}
    listed = helps["benchmark"].partition("(")[2].partition(")")[0].split(", ")
    assert listed == list(BUILTIN_BENCHMARKS)
    assert all(name in {f.name: f.help for f in config_fields(C.AnalogyRun)}["dataset"] for name in BUILTIN_ANALOGIES)
    assert [f.name for f in config_fields(C.TripletRun)][:2] == ["vectors", "unicode_errors"]  # the base's first


def test_library_functions_take_the_configs(tmp_path):
    """word_similarity on a set built so that cosine ranks RG-65-like pairs exactly as rated: Spearman 1."""
    from mmwe.metrics.overlap import mnno_inputs
    from mmwe.metrics.wordsim import word_similarity

    bench = tmp_path / "bench.txt"
    bench.write_text("a b 3\na c 2\na d 1\n", encoding="utf-8")
    angles = {"a": 0.0, "b": 0.1, "c": 0.5, "d": 1.2}
    vecs = Vectors(list(angles), np.array([[np.cos(t), np.sin(t)] for t in angles.values()], dtype=np.float32))
    save(vecs, tmp_path / "v.txt")
    rows = word_similarity(C.WordsimRun(vectors=(str(tmp_path / "v.txt"),), benchmark=(str(bench),)))
    assert len(rows) == 1 and rows[0]["spearman"] == pytest.approx(1.0) and rows[0]["found"] == 3
    np.save(tmp_path / "x.npy", np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]], dtype=np.float32))
    A, B = mnno_inputs(C.MnnoRun(a=str(tmp_path / "x.npy"), b=str(tmp_path / "x.npy"), l2_normalize=True))
    np.testing.assert_allclose(A, [[0.6, 0.8], [1.0, 0.0], [0.0, 1.0]], rtol=1e-6)
