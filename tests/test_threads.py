"""mmwe.threads: thread_limit sets torch's and the BLAS thread counts and restores them."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import threadpool_info

from mmwe.threads import thread_limit


# -- thread_limit -----------------------------------------------------------------------------------------
def _blas_threads() -> set[int]:
    return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}


def test_thread_limit_sets_and_restores():
    before, blas = torch.get_num_threads(), _blas_threads()
    with thread_limit(1):
        assert torch.get_num_threads() == 1
        assert _blas_threads() <= {1}
    assert torch.get_num_threads() == before and _blas_threads() == blas
    with pytest.raises(RuntimeError), thread_limit(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before and _blas_threads() == blas
    with thread_limit(None):  # None: nothing changes
        assert torch.get_num_threads() == before and _blas_threads() == blas
