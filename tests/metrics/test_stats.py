"""Tests of mmwe.metrics.stats: hand-computed textbook values, exact distributions and slow oracles."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as st

from mmwe.metrics.stats import bootstrap_ci, mcnemar, paired_permutation_test, pearson, spearman, steiger_z


# -- Steiger's Z ------------------------------------------------------------------------------------
def test_steiger_z_hand_computed_clean_case():
    # n=50, r_xa=.7, r_xb=.3, r_ab=.4. Pooled rbar = .5;
    # psi = .4(1 - 2*.25) - .5*.25*(1 - 2*.25 - .16) = .2 - .0425 = .1575; c = .1575 / (1 - .25)^2 = .28;
    # z = (atanh .7 - atanh .3) * sqrt(47) / sqrt(2 - 2*.28) = 0.5577812 * 6.8556546 / 1.2 = 3.18663.
    z, p = steiger_z(0.7, 0.3, 0.4, 50)
    assert z == pytest.approx(3.18663, abs=1e-4)
    assert p == pytest.approx(2 * (1 - st.norm.cdf(3.18663)), abs=1e-5)  # 0.00144


def test_steiger_z_textbook_case_a():
    # Steiger (1980) case A numbers (also psych::r.test's example): n=103, r12=.4, r13=.5, r23=.1.
    # rbar=.45, psi=.00026875, c=.00042256, z = -0.1256572 * 10 / sqrt(1.99915488) = -0.88872, p = 0.374
    # (Williams' t, used by psych, gives t = -0.89, p = 0.37 on the same numbers).
    z, p = steiger_z(0.4, 0.5, 0.1, 103)
    assert z == pytest.approx(-0.88872, abs=1e-4)
    assert p == pytest.approx(0.37415, abs=1e-4)


def _meng_rosenthal_rubin(r1: float, r2: float, rx: float, n: int) -> float:
    """Meng, Rosenthal & Rubin (1992) Z, an independent formula for the same hypothesis."""
    r2bar = (r1**2 + r2**2) / 2
    f = min(1.0, (1 - rx) / (2 * (1 - r2bar)))
    h = (1 - f * r2bar) / (1 - r2bar)
    return (math.atanh(r1) - math.atanh(r2)) * math.sqrt((n - 3) / (2 * (1 - rx) * h))


@pytest.mark.parametrize("r1,r2,rx,n", [(0.4, 0.5, 0.1, 103), (0.62, 0.55, 0.8, 300), (0.3, 0.35, 0.6, 999)])
def test_steiger_z_agrees_with_meng_rosenthal_rubin(r1, r2, rx, n):
    z, _ = steiger_z(r1, r2, rx, n)
    assert z == pytest.approx(_meng_rosenthal_rubin(r1, r2, rx, n), rel=0.03)


def test_steiger_z_symmetry_and_equal_correlations():
    z1, p1 = steiger_z(0.6, 0.4, 0.5, 80)
    z2, p2 = steiger_z(0.4, 0.6, 0.5, 80)
    assert z1 == pytest.approx(-z2) and p1 == pytest.approx(p2)
    assert steiger_z(0.5, 0.5, 0.3, 80) == (0.0, 1.0)


def test_steiger_z_has_nominal_size_under_h0():
    # 4000 samples of n=100 from a trivariate normal with rho_xa = rho_xb = .5, rho_ab = .6: under H0 the
    # test should reject at 5% about 5% of the time (binomial sd 0.35%); a wrong covariance term would not.
    rng = np.random.default_rng(1)
    cov = np.array([[1, 0.5, 0.5], [0.5, 1, 0.6], [0.5, 0.6, 1]])
    data = rng.multivariate_normal(np.zeros(3), cov, size=(4000, 100))  # (reps, n, 3)
    data -= data.mean(axis=1, keepdims=True)
    c = np.einsum("rni,rnj->rij", data, data)
    d = np.sqrt(np.einsum("rii->ri", c))
    r = c / d[:, :, None] / d[:, None, :]  # (reps, 3, 3) correlation matrices
    p = np.array([steiger_z(r[i, 0, 1], r[i, 0, 2], r[i, 1, 2], 100)[1] for i in range(len(r))])
    assert 0.04 <= float(np.mean(p < 0.05)) <= 0.06


def test_steiger_z_rejects_bad_input():
    with pytest.raises(ValueError, match="correlation in"):
        steiger_z(1.2, 0.3, 0.1, 50)
    with pytest.raises(ValueError, match="n > 3"):
        steiger_z(0.2, 0.3, 0.1, 3)


# -- bootstrap --------------------------------------------------------------------------------------
def test_bootstrap_ci_of_a_proportion_matches_the_binomial():
    # Known case: the resampled mean of n 0/1 values with k ones is Binomial(n, k/n) / n exactly, so the
    # percentile interval must sit on that distribution's 2.5% / 97.5% quantiles (to one step, 1/n).
    n, k = 40, 12
    x = np.zeros(n)
    x[:k] = 1
    lo, hi = bootstrap_ci(lambda idx: float(x[idx].mean()), n, n_boot=20000, seed=3)
    assert lo == pytest.approx(st.binom.ppf(0.025, n, k / n) / n, abs=1 / n + 1e-9)
    assert hi == pytest.approx(st.binom.ppf(0.975, n, k / n) / n, abs=1 / n + 1e-9)


def test_bootstrap_ci_of_a_mean_matches_the_normal_approximation():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=2000)
    lo, hi = bootstrap_ci(lambda idx: float(x[idx].mean()), x.size, n_boot=2000, seed=0)
    half = 1.959964 * x.std() / math.sqrt(x.size)
    assert lo == pytest.approx(x.mean() - half, abs=0.15 * half)
    assert hi == pytest.approx(x.mean() + half, abs=0.15 * half)


def test_bootstrap_ci_constant_nan_and_seed():
    assert bootstrap_ci(lambda idx: 0.25, 10) == (0.25, 0.25)
    assert all(math.isnan(v) for v in bootstrap_ci(lambda idx: math.nan, 10, n_boot=20))
    x = np.arange(30.0)
    f = lambda idx: float(x[idx].mean())  # noqa: E731
    assert bootstrap_ci(f, 30, seed=5) == bootstrap_ci(f, 30, seed=5)
    assert bootstrap_ci(f, 30, seed=5) != bootstrap_ci(f, 30, seed=6)
    lo90, hi90 = bootstrap_ci(f, 30, level=0.9, seed=5)
    lo95, hi95 = bootstrap_ci(f, 30, level=0.95, seed=5)
    assert lo95 <= lo90 < hi90 <= hi95
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci(f, 30, level=95)


# -- paired 0/1 tests -------------------------------------------------------------------------------
def test_mcnemar_hand_values_and_scipy():
    a = np.array([1, 1, 1, 1, 1, 0, 0, 1], bool)
    b = np.array([0, 0, 0, 0, 0, 0, 0, 1], bool)
    assert mcnemar(a, b) == pytest.approx(2 / 32)  # 5 discordant, all one way: 2 * 0.5**5
    assert mcnemar(a, a) == 1.0
    rng = np.random.default_rng(2)
    for _ in range(20):
        x, y = rng.random(200) < 0.6, rng.random(200) < 0.5
        n_ab, n_ba = int(np.sum(x & ~y)), int(np.sum(~x & y))
        assert mcnemar(x, y) == pytest.approx(st.binomtest(n_ab, n_ab + n_ba, 0.5).pvalue, rel=1e-9)


def _exact_sign_flip(a, b) -> float:
    """Slow oracle: enumerate every keep/swap pattern in a Python loop."""
    d = [x - y for x, y in zip(a, b)]
    obs = abs(sum(d))
    hits = total = 0
    for signs in itertools.product((1, -1), repeat=len(d)):
        total += 1
        hits += abs(sum(s * v for s, v in zip(signs, d))) >= obs - 1e-9
    return hits / total


def test_paired_permutation_exact_matches_oracle_and_mcnemar():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=10), rng.normal(size=10)
    assert paired_permutation_test(a, b) == pytest.approx(_exact_sign_flip(a, b))
    x = np.array([1] * 9 + [0] * 3 + [1] * 20, float)
    y = np.array([0] * 9 + [1] * 3 + [1] * 20, float)  # 12 discordant pairs: 9 vs 3
    assert paired_permutation_test(x, y) == pytest.approx(mcnemar(x, y))
    assert paired_permutation_test(x, x) == 1.0


def test_paired_permutation_sampled_approximates_exact_mcnemar():
    rng = np.random.default_rng(5)
    x, y = rng.random(300) < 0.55, rng.random(300) < 0.45  # ~150 discordant pairs: sampled branch
    p_exact = mcnemar(x, y)
    p = paired_permutation_test(x, y, n_perm=20000, seed=1)
    assert p == pytest.approx(p_exact, abs=0.01 + 0.1 * p_exact)
    with pytest.raises(ValueError, match="same length"):
        paired_permutation_test(x, y[:-1])


# -- correlation helpers ----------------------------------------------------------------------------
def test_spearman_and_pearson_match_scipy_with_ties():
    rng = np.random.default_rng(6)
    x = rng.integers(0, 5, 200).astype(float)
    y = x + rng.integers(0, 3, 200)
    assert spearman(x, y) == pytest.approx(st.spearmanr(x, y).statistic, abs=1e-12)
    assert pearson(x, y) == pytest.approx(st.pearsonr(x, y).statistic, abs=1e-12)
    assert math.isnan(spearman(x, np.ones_like(x)))
