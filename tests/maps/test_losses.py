"""mmwe.maps.losses: max-margin, cosine and MSE against Python-loop oracles and exact cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmwe.maps import compute_loss, cosine_loss, max_margin_loss

# -------------------------------------------------------------------------------------- losses


def _cos(a, b) -> float:
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_max_margin_matches_python_loop_oracle():
    rng = np.random.default_rng(2)
    P, T = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    margin = 0.7
    per_anchor = [sum(max(0.0, margin - _cos(P[i], T[i]) + _cos(P[i], T[j])) for j in range(5) if j != i)
                  for i in range(5)]
    got = max_margin_loss(torch.tensor(P), torch.tensor(T), margin).item()
    assert got == pytest.approx(sum(per_anchor) / 5, rel=1e-9)
    assert compute_loss(torch.tensor(P), torch.tensor(T), "max-margin", margin).item() == pytest.approx(got)


def test_max_margin_exact_cases():
    E = torch.eye(4, dtype=torch.float64)  # perfect orthonormal predictions: pos cos 1, neg cos 0
    assert max_margin_loss(E, E, 0.5).item() == 0.0
    assert max_margin_loss(E, E, 1.5).item() == pytest.approx(3 * 0.5)  # 3 negatives per anchor
    assert max_margin_loss(E, E.flip(0), 0.0).item() == pytest.approx(1.0)  # each anchor ranks one negative 1 above


def test_cosine_and_mse_match_oracles():
    rng = np.random.default_rng(3)
    P, T = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    oracle = sum(1 - _cos(P[i], T[i]) for i in range(6)) / 6
    assert cosine_loss(torch.tensor(P), torch.tensor(T)).item() == pytest.approx(oracle, rel=1e-9)
    assert compute_loss(torch.tensor(P), torch.tensor(T), "mse").item() == pytest.approx(((P - T) ** 2).mean())
    assert cosine_loss(torch.tensor(P), torch.tensor(3 * P)).item() == pytest.approx(0.0, abs=1e-12)
