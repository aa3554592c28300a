"""mmwe.maps.normalize: vecmap's normalisation steps against loops, training statistics, and maps that normalise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmwe.maps import CrossModalMap, MapConfig, fit_map

# ------------------------------------------------------------------------ vecmap normalisation


def _vecmap_normalize(M: np.ndarray, steps: list[str]) -> np.ndarray:
    """vecmap's embeddings.normalize (artetxem/vecmap, embeddings.py) re-typed as loops over rows and columns."""
    M = [list(map(float, r)) for r in M]
    n, d = len(M), len(M[0])
    for step in steps:
        if step == "unit":
            for r in M:
                norm = math.sqrt(sum(v * v for v in r)) or 1.0
                r[:] = [v / norm for v in r]
        elif step == "center":
            means = [sum(M[i][j] for i in range(n)) / n for j in range(d)]
            M = [[r[j] - means[j] for j in range(d)] for r in M]
        elif step == "unitdim":
            norms = [math.sqrt(sum(M[i][j] ** 2 for i in range(n))) or 1.0 for j in range(d)]
            M = [[r[j] / norms[j] for j in range(d)] for r in M]
        elif step == "centeremb":
            M = [[v - sum(r) / d for v in r] for r in M]
    return np.array(M)


@pytest.mark.parametrize("spec", ["unit", "center", "unitdim", "centeremb", "unit,center,unit",
                                  "unitdim,center,unit,centeremb"])
def test_normalizer_matches_vecmap_loops(spec):
    from mmwe.maps import Normalizer, parse_normalize

    rng = np.random.default_rng(8)
    X = (rng.standard_normal((30, 6)) * [1, 2, 3, 4, 5, 0]).astype(np.float32)  # a zero column and, below, a zero row
    X[4] = 0
    norm, Xn = Normalizer.fit(parse_normalize(spec), X)
    np.testing.assert_allclose(Xn, _vecmap_normalize(X, spec.split(",")), rtol=0, atol=1e-6)
    assert Xn.dtype == np.float32 and np.array_equal(norm.apply(X), Xn)  # apply on the training rows = fit


def test_normalizer_known_answer_and_training_statistics():
    from mmwe.maps import Normalizer

    X = np.array([[3.0, 4.0], [0.0, -2.0]], np.float32)
    norm, Xn = Normalizer.fit(("unit", "center", "unit"), X)
    # unit: (0.6, 0.8), (0, -1); means (0.3, -0.1); centred (0.3, 0.9), (-0.3, -0.9); unit again
    s = math.sqrt(0.9)
    np.testing.assert_allclose(Xn, [[0.3 / s, 0.9 / s], [-0.3 / s, -0.9 / s]], atol=1e-7)
    np.testing.assert_allclose(norm.stats[1], [0.3, -0.1], atol=1e-15)
    # a new row is centred with the *training* means, not its own (it would be all zeros then)
    new = norm.apply(np.array([[0.0, 5.0]], np.float32))
    v = np.array([0.0, 1.0]) - [0.3, -0.1]
    np.testing.assert_allclose(new, [v / np.linalg.norm(v)], atol=1e-7)
    assert Normalizer.fit((), X)[1] is X and Normalizer().apply(X) is X


@pytest.mark.parametrize("model", ["lin", "procrustes"])
def test_fit_map_normalizes_and_round_trips(tmp_path, affine, model):
    from mmwe.maps import Normalizer

    X, _, _, Y = affine
    cfg = MapConfig(model=model, epochs=2, normalize="unit,center,unit")
    fmap = fit_map(X, Y, cfg)
    nx, Xn = Normalizer.fit(("unit", "center", "unit"), X)
    ny, Yn = Normalizer.fit(("unit", "center", "unit"), Y)
    with torch.no_grad():
        direct = fmap.network(torch.from_numpy(Xn)).numpy()
    np.testing.assert_array_equal(fmap.predict(X), direct)  # predict = the network on the normalised rows
    np.testing.assert_array_equal(fmap.normalize_y(Y), Yn)
    if model == "procrustes":  # fitted on the normalised pairs: the same solve as on Xn, Yn directly
        np.testing.assert_allclose(fmap.predict(X), fit_map(Xn, Yn, MapConfig(model=model)).predict(Xn), atol=1e-6)
    path = tmp_path / "m.pt"
    fmap.save(path)
    back = CrossModalMap.load(path)
    assert back.config.normalize == "unit,center,unit" and torch.load(path, weights_only=True)["version"] == 2
    for a, b in zip(back.normalizers, (nx, ny)):
        assert a.steps == b.steps and all(np.array_equal(p, q) for p, q in zip(a.stats, b.stats) if p is not None)
    np.testing.assert_array_equal(back.predict(X[:50]), fmap.predict(X[:50]))
