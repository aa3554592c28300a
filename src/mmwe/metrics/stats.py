"""Shared statistics for the evaluations: bootstrap intervals and paired significance tests.

Word similarity uses `bootstrap_ci` (resampled pairs) and `steiger_z` (two vector sets scored on the same
pairs); the triplet evaluation uses `bootstrap_ci` and `mcnemar` / `paired_permutation_test` on paired 0/1
outcomes. Everything here is a pure function of numbers or arrays and returns plain floats.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats as _st

# Above this many non-zero paired differences the sign-flip test is sampled instead of enumerated.
_EXACT_MAX = 16


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float],
    n: int,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over ``n`` items.

    ``statistic(idx)`` receives an int64 index array (a resample with replacement of ``range(n)``) and
    returns a float. Resamples where the statistic is undefined (NaN, e.g. a constant resample) are
    dropped; (nan, nan) when none is defined.
    """
    if n < 1:
        raise ValueError(f"bootstrap needs at least one item, got n={n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot, dtype=np.float64)
    for b in range(n_boot):
        values[b] = statistic(rng.integers(0, n, size=n))
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def steiger_z(r_xa: float, r_xb: float, r_ab: float, n: int) -> tuple[float, float]:
    """Steiger's (1980) Z1* test of H0: rho(x, a) == rho(x, b), two correlations sharing variable x.

    Fisher z of both correlations; their covariance uses the pooled r = (r_xa + r_xb) / 2 (Steiger 1980,
    eqs. 3 and 14). Returns (z, two-sided p). ``r_ab`` is the correlation between a and b; ``n`` the
    number of cases behind all three correlations.
    """
    for name, r in (("r_xa", r_xa), ("r_xb", r_xb), ("r_ab", r_ab)):
        if not -1.0 <= r <= 1.0:
            raise ValueError(f"{name} must be a correlation in [-1, 1], got {r}")
    if n <= 3:
        raise ValueError(f"Steiger's test needs n > 3 cases, got {n}")
    if r_xa == r_xb:
        return 0.0, 1.0
    # Clip away from +-1 so that arctanh stays finite: a perfect correlation is a limit, not an error.
    edge = 1.0 - 1e-12
    z_a, z_b = np.arctanh(np.clip([r_xa, r_xb], -edge, edge))
    rbar = (r_xa + r_xb) / 2.0
    psi = r_ab * (1.0 - 2.0 * rbar**2) - 0.5 * rbar**2 * (1.0 - 2.0 * rbar**2 - r_ab**2)
    c = psi / (1.0 - min(rbar**2, edge)) ** 2  # corr(z_a, z_b) under H0
    denom = math.sqrt(max(2.0 - 2.0 * c, 0.0))
    if denom == 0.0:  # a and b perfectly correlated but r_xa != r_xb (rounding): maximal evidence
        return math.copysign(math.inf, z_a - z_b), 0.0
    z = float((z_a - z_b) * math.sqrt(n - 3) / denom)
    return z, float(2.0 * _st.norm.sf(abs(z)))


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> float:
    """Exact (binomial) two-sided McNemar p-value for paired 0/1 outcomes of two systems on the same items.

    Only discordant items count: b = a right & b wrong, c = a wrong & b right; p = P(|B - m/2| >= |b - m/2|)
    with B ~ Binomial(m = b + c, 1/2). 1.0 when there is no discordant item.
    """
    a, b = _paired_bool(a_correct, b_correct)
    n_ab = int(np.sum(a & ~b))
    n_ba = int(np.sum(~a & b))
    m = n_ab + n_ba
    if m == 0:
        return 1.0
    return float(min(1.0, 2.0 * _st.binom.cdf(min(n_ab, n_ba), m, 0.5)))


def paired_permutation_test(a: np.ndarray, b: np.ndarray, *, n_perm: int = 10000, seed: int = 0) -> float:
    """Two-sided paired permutation (sign-flip) test of H0: mean(a - b) == 0.

    Under H0 the two labels of each pair are exchangeable, so each difference keeps or flips its sign.
    Exact enumeration when at most 16 differences are non-zero (2**16 sign patterns), otherwise
    ``n_perm`` random patterns with the add-one estimate (1 + hits) / (1 + n_perm). For 0/1 outcomes the
    exact version equals the exact McNemar test.
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"expected two 1-D arrays of the same length, got shapes {x.shape} and {y.shape}")
    d = (x - y)[x != y]  # zero differences do not change under a flip
    if d.size == 0:
        return 1.0
    observed = abs(d.sum())
    tol = 1e-9 * max(1.0, float(np.abs(d).sum()))  # ties in float sums count as "as extreme"
    if d.size <= _EXACT_MAX:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=d.size)))  # (2**m, m)
        return float(np.mean(np.abs(signs @ d) >= observed - tol))
    rng = np.random.default_rng(seed)
    hits, done = 0, 0
    while done < n_perm:
        k = min(1000, n_perm - done)
        signs = rng.integers(0, 2, size=(k, d.size)) * 2.0 - 1.0  # (k, m) random +-1
        hits += int(np.sum(np.abs(signs @ d) >= observed - tol))
        done += k
    return (1.0 + hits) / (1.0 + n_perm)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho (average ranks for ties, as scipy); NaN when either side is constant."""
    return pearson(_st.rankdata(x), _st.rankdata(y))


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r in float64; NaN when either side is constant."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    xc, yc = x - x.mean(), y - y.mean()
    denom = math.sqrt(float(xc @ xc) * float(yc @ yc))
    if denom == 0.0:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.clip((xc @ yc) / denom, -1.0, 1.0))


def _paired_bool(a, b) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a)
    y = np.asarray(b)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"expected two 1-D arrays of the same length, got shapes {x.shape} and {y.shape}")
    return x.astype(bool), y.astype(bool)
