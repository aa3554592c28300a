"""Shared by the tests of mmwe.maps: a known affine map, IAPR TC-12 test rows, and a map's weights compared bit for
bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mmwe.maps import CrossModalMap


def _state(fmap: CrossModalMap) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in fmap.network.state_dict().items()}


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def affine():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 8)).astype(np.float32)
    W = rng.standard_normal((8, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    return X, W, b, X @ W + b


@pytest.fixture(scope="module")
def iapr(iapr_dir):
    """IAPR TC-12 test rows of Collell & Moens: text biGRU (64-d) and visual VGG-128, paired by row."""
    T = pd.read_csv(iapr_dir / "TS_lang_biGRU.csv", header=None).iloc[:, 1:].to_numpy(np.float32)
    V = pd.read_csv(iapr_dir / "TS_vis_vgg128.csv", header=None).iloc[:, 1:].to_numpy(np.float32)
    return T, V
