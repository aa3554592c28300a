"""Scores of the Mao reproduction: triplet accuracy and word similarity of each model, and the paper's claims
checked with one `mao_findings`: the exact McNemar test on one run per model, the crossed seeds x triplets t test
(`mmwe.metrics.seeds.crossed_paired_test`) on several seeds.

Why not McNemar on pooled outcomes, or per-seed McNemar combined, for several seeds: the S runs of a model are
scored on the *same* triplets, so their outcomes are not independent samples; pooling them (or combining S
per-seed p-values as if independent) treats S x N correlated outcomes as independent and overstates the evidence,
and a permutation over seeds alone has only 2^S sign patterns (p >= 1/16 at S = 5).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from mmwe.datasets.triplets import TripletSet, load_triplets
from mmwe.datasets.wordsim import load_benchmark
from mmwe.errors import MmweError
from mmwe.metrics import wordsim
from mmwe.metrics.seeds import crossed_paired_test, seed_bootstrap_ci
from mmwe.metrics.triplets import compare_triplets, evaluate_triplets, outcomes
from mmwe.vectors import load as load_vectors

from .config import CLAIMS, PAPER_RP10K, WORDSIM_COLUMNS, MaoConfig, StudyConfig
from .training import Job, Trainer

Compare = Callable[[str, str], "dict | None"]  # (better, worse) -> the claim's numbers, or None: not checked


def wordsim_scores(vectors) -> dict:
    """Spearman and pairs found on each word-similarity benchmark; None (0 pairs) where too few are covered."""
    out = {}
    for bench in WORDSIM_COLUMNS:
        try:
            r = wordsim.evaluate(vectors, load_benchmark(bench), similarity="cosine")
            out[bench], out[bench + "_found"] = r["spearman"], r["found"]
        except MmweError:  # too few pairs covered by a small vocabulary: reported as missing
            out[bench], out[bench + "_found"] = None, 0
    return out


def mao_findings(compare: Compare) -> list[dict]:
    """The paper's claims (`CLAIMS`), each checked by ``compare(better, worse)``: its numbers (``left``,
    ``right``, ``common``, ``p``, and ``diff`` ... for seeds), whether the claim holds, and the verdict."""
    out = []
    for text, better, worse in CLAIMS:
        t = compare(better, worse)
        if t is None:
            continue
        holds = t["diff"] > 0 if "diff" in t else t["left"] > t["right"]
        verdict = ("holds" if holds else "does not hold") + ("" if t["p"] < 0.05 else " (difference not significant)")
        out.append({"claim": text, "holds": bool(holds), **t, "verdict": verdict})
    return out


# -- one run per model: the vectors themselves ------------------------------------------------------------------
def mcnemar_compare(vectors: dict, tset: TripletSet) -> Compare:
    """Claims on one run per model: on the triplets both sets cover (a trained vocabulary is smaller than GloVe's),
    the exact McNemar p on those triplets."""
    def compare(better: str, worse: str) -> dict | None:
        if better not in vectors or worse not in vectors:
            return None
        cmp = compare_triplets(vectors[better], vectors[worse], tset)
        return {"left": cmp["accuracy_a"], "right": cmp["accuracy_b"], "common": cmp["n"], "p": cmp["p"]}
    return compare


def evaluate_vectors(name: str, vectors, cfg: MaoConfig, reference=None) -> dict:
    """Triplet accuracy (with CI) and word-similarity Spearman of one vector set: one table row."""
    tset = load_triplets(cfg.triplets)
    row = {"model": name, "dim": vectors.dim, "vocab": len(vectors)}
    t = evaluate_triplets(vectors, tset, ci=True, seed=cfg.seed)
    row.update(accuracy=t["accuracy"], ci_low=t["ci_low"], ci_high=t["ci_high"], covered=t["covered"],
               triplets=t["triplets"])
    if reference is not None:
        row["p_vs_puretext"] = compare_triplets(reference, vectors, tset)["p"]
    row.update(wordsim_scores(vectors))
    row["paper_rp10k"] = PAPER_RP10K.get(name)
    return row


# -- several seeds: (seeds x triplets) outcome matrices ----------------------------------------------------------
def crossed_compare(mats: dict) -> Compare:
    """Claims at 100% of the data, each with the crossed seeds x triplets test."""
    def compare(better: str, worse: str) -> dict | None:
        a, b = mats.get((better, 1.0)), mats.get((worse, 1.0))
        if a is None or b is None:
            return None
        t = _compare(a, b)
        if t["p"] is None:
            return None
        return {"left": t["mean_a"], "right": t["mean_b"], "diff": t["diff"], "common": t["n"], "p": t["p"],
                "t": t.get("t"), "df": t.get("df"), "se": t.get("se"),
                "seed_wins": sum(x > 0 for x in t["per_seed_diff"]), "seeds": len(t["per_seed_diff"])}
    return compare


def _cell(correct: np.ndarray, covered: np.ndarray, cfg: StudyConfig) -> dict:
    """Accuracy over seeds of one (variant, fraction): on the triplets every seed covers."""
    both = covered.all(axis=0)
    m = correct[:, both].astype(np.float64)  # (S, covered)
    accs = m.mean(axis=1) if both.any() else np.full(len(m), math.nan)
    lo, hi = seed_bootstrap_ci(m, n_boot=cfg.n_boot) if both.any() else (math.nan, math.nan)
    return {"accuracy": float(accs.mean()), "sd": float(accs.std(ddof=1)) if len(accs) > 1 else None,
            "per_seed": [float(a) for a in accs], "ci_low": lo, "ci_high": hi, "covered": int(both.sum()),
            "triplets": int(covered.shape[1])}


def evaluate(trainer: Trainer, jobs: list[Job], tset: TripletSet, cfg: StudyConfig, curve: tuple[str, ...]) -> dict:
    """Rows (100% of the data), findings, learning curve, from the trained vectors."""
    by_cell: dict[tuple[str, float], list[Job]] = {}
    for j in dict.fromkeys(jobs):
        by_cell.setdefault((j.variant, j.fraction), []).append(j)
    mats, rows, curve_rows = {}, [], []
    for (v, f), js in by_cell.items():
        js = sorted(js, key=lambda j: j.seed)
        res, ws = [], []
        for j in js:
            vec = trainer.vectors[j]
            res.append(outcomes(vec, tset))
            if f >= 1.0:
                ws.append(wordsim_scores(vec))
        mats[(v, f)] = (np.stack([r[0] for r in res]), np.stack([r[1] for r in res]))
        cell = {"model": v, "fraction": f, **_cell(*mats[(v, f)], cfg),
                "val_perplexity": float(np.mean([trainer.metrics[j]["val_perplexity"] for j in js])),
                "epochs": float(np.mean([trainer.metrics[j]["epochs"] for j in js])),
                "train_images": int(trainer.metrics[js[0]].get("train_examples", 0)), "lr": js[0].lr,
                "lambda": js[0].lam if v in ("B", "C") else None}
        if f >= 1.0:
            for k in ws[0]:
                vals = [w[k] for w in ws if w[k] is not None]
                cell[k] = float(np.mean(vals)) if vals else None
            cell["paper_rp10k"] = PAPER_RP10K.get(v)
            rows.append(cell)
        else:
            curve_rows.append(cell)
    order = {v: i for i, v in enumerate(cfg.variants)}
    rows.sort(key=lambda r: order[r["model"]])
    if cfg.baseline:
        vec = load_vectors(cfg.baseline)
        c, cov = outcomes(vec, tset)
        mats[(cfg.baseline, 1.0)] = (c[None], cov[None])
        rows.append({"model": cfg.baseline, "fraction": 1.0, **_cell(c[None], cov[None], cfg), **wordsim_scores(vec),
                     "paper_rp10k": None})
    ref = mats.get(("puretext", 1.0))
    for r in rows:
        if ref is not None and r["model"] != "puretext":
            r["p_vs_puretext"] = _compare(mats[(r["model"], 1.0)], ref)["p"]
    curve_rows += [dict(r) for r in rows if r["model"] in curve]
    curve_rows.sort(key=lambda r: (order.get(r["model"], 99), r["fraction"]))
    gaps = [{"fraction": f, **_gap(mats[("A", f)], mats[("puretext", f)])} for f in cfg.fractions
            if ("A", f) in mats and ("puretext", f) in mats]
    return {"rows": rows, "findings": mao_findings(crossed_compare(mats)), "curve": curve_rows, "curve_gaps": gaps}


def _compare(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> dict:
    """`crossed_paired_test` of a over b on the triplets both cover in every seed. A model with one run (the
    pretrained baseline) is compared with every seed of the other, on either side."""
    common = a[1].all(axis=0) & b[1].all(axis=0)
    if not common.any():
        return {"n": 0, "p": None, "mean_a": None, "mean_b": None, "diff": None, "per_seed_diff": []}
    A, B = a[0][:, common], b[0][:, common]
    if len(A) == 1 and len(B) > 1:  # test b over a, then turn the result round
        t = crossed_paired_test(B, A[0])
        t |= {"mean_a": t["mean_b"], "mean_b": t["mean_a"], "diff": -t["diff"], "t": -t["t"],
              "per_seed_diff": [-x for x in t["per_seed_diff"]]}
    else:
        t = crossed_paired_test(A, B[0] if len(B) == 1 else B)
    return {"n": int(common.sum()), **t}


def _gap(a, b) -> dict:
    t = _compare(a, b)
    return {"A": t["mean_a"], "puretext": t["mean_b"], "gap": t["diff"], "p": t["p"], "common": t["n"],
            "per_seed_gap": t["per_seed_diff"]}
