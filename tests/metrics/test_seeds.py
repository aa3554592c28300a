"""mmwe.metrics.seeds against independent slow oracles: explicit-loop two-way ANOVA, scipy's paired t test where
the design reduces to one, and a Monte-Carlo check that the crossed test's size is right when both sources vary."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mmwe.metrics.seeds import crossed_paired_test, crossed_variance, seed_bootstrap_ci


def _anova_oracle(d: np.ndarray) -> tuple[float, float, float]:
    """(MS_seed, MS_item, MS_res) by plain loops over the cells."""
    s, n = d.shape
    mu = sum(d[i, j] for i in range(s) for j in range(n)) / (s * n)
    row = [sum(d[i, j] for j in range(n)) / n for i in range(s)]
    col = [sum(d[i, j] for i in range(s)) / s for j in range(n)]
    ss_seed = n * sum((r - mu) ** 2 for r in row)
    ss_item = s * sum((c - mu) ** 2 for c in col)
    ss_res = sum((d[i, j] - row[i] - col[j] + mu) ** 2 for i in range(s) for j in range(n))
    return ss_seed / (s - 1), ss_item / (n - 1), ss_res / ((s - 1) * (n - 1))


def test_variance_components_match_a_loop_anova():
    rng = np.random.default_rng(0)
    d = rng.normal(size=(4, 1))[:, [0] * 30] * 0.3 + rng.normal(size=(1, 30)) + rng.normal(size=(4, 30)) * 0.5
    ms_seed, ms_item, ms_res = _anova_oracle(d)
    v = crossed_variance(d)
    s, n = d.shape
    assert v["seed_var"] == pytest.approx(max(0.0, (ms_seed - ms_res) / n))
    assert v["item_var"] == pytest.approx(max(0.0, (ms_item - ms_res) / s))
    assert v["res_var"] == pytest.approx(ms_res)
    want = v["seed_var"] / s + v["item_var"] / n + ms_res / (s * n)
    assert v["var"] == pytest.approx(want) and v["mean"] == pytest.approx(d.mean())
    # with both components positive, Var(mean) = (MS_seed + MS_item - MS_res) / (S N): the textbook identity
    assert v["seed_var"] > 0 and v["item_var"] > 0
    assert v["var"] == pytest.approx((ms_seed + ms_item - ms_res) / (s * n))


def test_one_seed_is_scipys_paired_t_test():
    rng = np.random.default_rng(1)
    a = (rng.random(200) < 0.6).astype(float)
    b = (rng.random(200) < 0.5).astype(float)
    got = crossed_paired_test(a[None], b[None])
    ref = stats.ttest_rel(a, b)
    assert got["t"] == pytest.approx(ref.statistic) and got["p"] == pytest.approx(ref.pvalue)
    assert got["df"] == 199 and got["mean_a"] == pytest.approx(a.mean())


def test_identical_models_give_p_one_and_a_baseline_broadcasts():
    m = (np.random.default_rng(2).random((3, 50)) < 0.5).astype(float)
    assert crossed_paired_test(m, m)["p"] == 1.0
    base = m[0]
    t = crossed_paired_test(m, base)  # a deterministic baseline: one row compared with every seed
    assert t["per_seed_diff"][0] == 0.0 and len(t["per_seed_diff"]) == 3


def test_size_of_the_crossed_test_counts_seed_variance():
    """Two equally good models whose seeds differ (a seed effect, no true difference): the crossed test rejects at
    about 5%; a pooled test that ignores the seeds rejects far more often."""
    rng = np.random.default_rng(3)
    S, N, reps = 5, 300, 300
    crossed = pooled = 0
    for _ in range(reps):
        seed_shift = rng.normal(scale=0.08, size=(S, 1))  # training randomness: a whole run is better or worse
        item = rng.random((1, N))
        pa = np.clip(item + seed_shift, 0, 1)
        pb = np.clip(item + rng.normal(scale=0.08, size=(S, 1)), 0, 1)
        a, b = (rng.random((S, N)) < pa).astype(float), (rng.random((S, N)) < pb).astype(float)
        crossed += crossed_paired_test(a, b)["p"] < 0.05
        pooled += stats.ttest_rel(a.ravel(), b.ravel()).pvalue < 0.05
    assert crossed / reps < 0.10 and pooled / reps > 0.25, (crossed / reps, pooled / reps)


def test_bootstrap_ci_covers_the_mean_and_shrinks_with_items():
    rng = np.random.default_rng(4)
    small = (rng.random((3, 50)) < 0.7).astype(float)
    large = (rng.random((3, 2000)) < 0.7).astype(float)
    lo, hi = seed_bootstrap_ci(small, n_boot=500)
    assert lo <= small.mean() <= hi
    lo2, hi2 = seed_bootstrap_ci(large, n_boot=500)
    assert (hi2 - lo2) < (hi - lo) / 3 and not math.isnan(lo2)
    with pytest.raises(ValueError, match="non-empty"):
        seed_bootstrap_ci(np.zeros((0, 0)))
