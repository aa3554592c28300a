"""Statistics over several training seeds evaluated on the same test items (a seeds x items design).

A model trained with S seeds and scored 0/1 on N items gives an (S, N) matrix. Two sources of variance make a
mean accuracy uncertain: which items were drawn (a different test set) and which seeds were drawn (a different
training run). `crossed_paired_test` compares two models with both; `seed_bootstrap_ci` resamples items for a
CI of the seed-mean accuracy. Pure functions of arrays; plain floats and dicts out.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st


def _matrix(d) -> np.ndarray:
    d = np.asarray(d, dtype=np.float64)
    if d.ndim == 1:
        d = d[None, :]
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f"expected a non-empty (seeds, items) matrix, got shape {np.shape(d)}")
    return d


def crossed_variance(d) -> dict:
    """Variance components of the grand mean of an (S, N) matrix under the crossed random-effects model
    d[s, t] = mu + a_s + b_t + e[s, t] (seed effect a, item effect b, interaction/noise e), from the two-way
    ANOVA mean squares: sigma_a^2 = (MS_seed - MS_res) / N, sigma_b^2 = (MS_item - MS_res) / S, sigma_e^2 = MS_res
    (negative estimates clamped at 0). Var(mean) = sigma_a^2 / S + sigma_b^2 / N + sigma_e^2 / (S N), with the
    Satterthwaite degrees of freedom of that combination. With one seed (or one item) the missing factor's
    variance cannot be estimated and the formula reduces to the one-sample variance of the mean."""
    d = _matrix(d)
    s, n = d.shape
    mu = float(d.mean())
    if s == 1 or n == 1:
        x = d.ravel()
        if x.size < 2:
            return {"mean": mu, "var": math.nan, "df": 0.0, "seed_var": math.nan, "item_var": math.nan,
                    "res_var": math.nan}
        var = float(x.var(ddof=1)) / x.size
        return {"mean": mu, "var": var, "df": float(x.size - 1), "seed_var": None if s == 1 else float(x.var(ddof=1)),
                "item_var": None if n == 1 else float(x.var(ddof=1)), "res_var": None}
    row, col = d.mean(axis=1), d.mean(axis=0)
    ms_seed = n * float(((row - mu) ** 2).sum()) / (s - 1)
    ms_item = s * float(((col - mu) ** 2).sum()) / (n - 1)
    resid = d - row[:, None] - col[None, :] + mu
    ms_res = float((resid ** 2).sum()) / ((s - 1) * (n - 1))
    va, vb, ve = max(0.0, (ms_seed - ms_res) / n), max(0.0, (ms_item - ms_res) / s), ms_res
    # Var(mean) as a combination of mean squares: c_seed MS_seed + c_item MS_item + c_res MS_res
    terms = [((1.0 / (s * n)) * ms_seed if va > 0 else 0.0, s - 1),
             ((1.0 / (s * n)) * ms_item if vb > 0 else 0.0, n - 1),
             ((1.0 - (va > 0) - (vb > 0)) / (s * n) * ms_res, (s - 1) * (n - 1))]
    var = va / s + vb / n + ve / (s * n)
    denom = sum(t * t / df for t, df in terms if t != 0.0)
    df = var * var / denom if denom > 0 else math.inf
    return {"mean": mu, "var": var, "df": float(df), "seed_var": va, "item_var": vb, "res_var": ve}


def crossed_paired_test(a, b) -> dict:
    """Paired test of H0: mean(a - b) == 0 for two (S, N) 0/1 (or real) score matrices: seed s of each model on
    item t. The difference matrix's grand mean is tested with a t statistic whose variance counts both the
    seeds and the items (`crossed_variance`); two-sided p from Student's t with Satterthwaite df.

    ``b`` may be (N,) (a deterministic model, e.g. pretrained vectors): it is compared with every seed of ``a``.
    Returns mean_a, mean_b, diff, se, t, df, p, and the per-seed differences (for "wins in k of S seeds").
    """
    a = _matrix(a)
    b = np.broadcast_to(_matrix(b), a.shape)
    d = a - b
    v = crossed_variance(d)
    diff = v["mean"]
    se = math.sqrt(v["var"]) if v["var"] == v["var"] and v["var"] >= 0 else math.nan
    if se == 0.0 or not math.isfinite(se):
        t, p = (0.0, 1.0) if diff == 0.0 else (math.copysign(math.inf, diff), 0.0 if se == 0.0 else math.nan)
    else:
        t = diff / se
        p = float(2.0 * _st.t.sf(abs(t), v["df"])) if math.isfinite(v["df"]) else float(2.0 * _st.norm.sf(abs(t)))
    return {"mean_a": float(a.mean()), "mean_b": float(b.mean()), "diff": diff, "se": se, "t": t, "df": v["df"],
            "p": p, "per_seed_diff": [float(x) for x in d.mean(axis=1)], "seed_var": v["seed_var"],
            "item_var": v["item_var"], "res_var": v["res_var"]}


def seed_bootstrap_ci(m, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the seed-mean accuracy of an (S, N) 0/1 matrix, resampling items (the same
    resample for every seed, so the seeds stay paired)."""
    m = _matrix(m)
    n = m.shape[1]
    rng = np.random.default_rng(seed)
    per_item = m.mean(axis=0)  # (N,) mean over seeds: the seed-mean accuracy of a resample is its mean
    values = np.empty(n_boot)
    for i in range(0, n_boot, 100):
        k = min(100, n_boot - i)
        idx = rng.integers(0, n, size=(k, n))
        values[i:i + k] = per_item[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
    return float(lo), float(hi)
