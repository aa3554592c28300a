"""The torch kNN backend (the CUDA path of `mmwe mnno`) run with device='cpu': the same lists as the exact CPU
backend, on tie-heavy data (small integers, duplicated rows, constant rows, zero rows) where only the tie rule
(lower index first) and the self handling decide the order, across block sizes that split the search; with float32
and with bf16 candidates."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.neighbors import knn
from mmwe.neighbors.torch_backend import _knn_torch


def tie_heavy(seed: int, n: int = 257, d: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(n, d)).astype(np.float32)  # 5^5 values for 257 rows: many duplicates
    X[rng.integers(0, n, max(2, n // 6))] = X[n // 3]  # a big group of exact copies
    X[::31] = 0  # zero rows (cosine scores them 0 with everything)
    return X


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot"])
@pytest.mark.parametrize("include_self", [False, True])
@pytest.mark.parametrize("block", [16, 48, 4096])
def test_same_lists_as_the_exact_backend_on_ties(metric, include_self, block, precision):
    X = tie_heavy(1)
    for k in (1, 4, 10):
        want = knn(X, k, metric=metric, include_self=include_self, backend="exact", precision="fp32")
        got = _knn_torch(X, k, metric, include_self, device="cpu", block_size=block, precision=precision)
        assert np.array_equal(got, want), (metric, include_self, block, k)


def test_every_row_tied_is_ordered_by_index():
    X = np.ones((50, 3), dtype=np.float32)
    got = _knn_torch(X, 5, "cosine", False, device="cpu", block_size=16)
    assert got[0].tolist() == [1, 2, 3, 4, 5] and got[10].tolist() == [0, 1, 2, 3, 4]
    got = _knn_torch(X, 5, "euclidean", True, device="cpu", block_size=16)
    assert got[10].tolist() == [10, 0, 1, 2, 3]  # itself first, then the lower indices


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_float_data_and_the_public_entry_point(precision):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 20)).astype(np.float32)
    X[100:110] = X[5]  # some exact copies among float rows
    for metric in ("cosine", "euclidean"):
        want = knn(X, 10, metric=metric, precision="fp32")
        assert np.array_equal(knn(X, 10, metric=metric, backend="torch", block_size=32, precision=precision), want)


def test_fewer_rows_than_list_slots():
    X = tie_heavy(2, n=6, d=2)
    for include_self in (False, True):
        want = knn(X, 5, include_self=include_self)
        assert np.array_equal(_knn_torch(X, 5, "cosine", include_self, device="cpu", block_size=16), want)


def test_mnno_with_the_torch_backend_matches_exact():
    from mmwe.metrics.overlap import mnno

    A, B = tie_heavy(3), tie_heavy(4)
    assert mnno(A, B, k=10, backend="torch") == mnno(A, B, k=10)


def test_cli_device_and_torch_backend(tmp_path, capsys):
    import json

    import torch

    from tests.lm.test_train import run_cli

    np.save(tmp_path / "a.npy", tie_heavy(5))
    np.save(tmp_path / "b.npy", tie_heavy(6))
    args = ["mnno", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--k", "5", "--json"]
    assert run_cli(args) == 0
    exact = json.loads(capsys.readouterr().out)
    assert run_cli([*args, "--backend", "torch"]) == 0
    on_torch = json.loads(capsys.readouterr().out)
    assert on_torch["backend"] == "torch" and on_torch["mnno"] == exact["mnno"]
    assert run_cli([*args, "--device", "gpu"]) == 2
    assert "--device: expected auto, cpu or cuda" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert exact["backend"] == "exact"  # auto without a GPU: the CPU search, as before
        assert run_cli([*args, "--device", "cuda"]) == 2
        err = capsys.readouterr().err
        assert "--device cuda: expected a CUDA device, got none" in err and len(err.strip().splitlines()) == 1
