"""What the evaluation commands print, as data (`Printout`: lines and tables; the CLI only draws them): eval-words,
eval-analogies, eval-triplets and mnno. ``--json`` prints the library's rows instead."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mmwe.report.commands import Printout, Table

NONE = "–"  # a value that could not be computed (its reason is printed under the table)
ALIGNMENT = ("mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn", "cka", "unbiased_cka", "cknna", "svcca")


def fmt(x: float | None, spec: str = ".3f") -> str:
    return NONE if x is None else format(x, spec)


def _p(row: Mapping) -> str:
    p = row.get("p_vs_first")
    return "-" if p is None else f"{p:.3g}{'*' if p < 0.05 else ''}"


def _ci(row: Mapping) -> str:
    return NONE if row.get("ci_low") is None else f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def notes(rows: Sequence[Mapping], name: Callable[[Mapping], str]) -> list[str]:
    """One line per row with a ``note`` (why a value is missing), printed under its table."""
    return [f"{NONE} {name(r)}: {r['note']}" for r in rows if r.get("note")]


def wordsim_printout(rows: Sequence[Mapping], cfg: Any) -> Printout:
    """`mmwe eval-words` (``cfg``: its ``WordsimRun``); one set: its name in the title, keeping the table narrow."""
    several = len(cfg.vectors) > 1
    title = f"word similarity, {cfg.similarity}{', mean-imputed' if cfg.impute_mean else ''}"
    cols = ["vectors"] * several + ["benchmark", "spearman", "pearson", "found/pairs"] + ["95% CI"] * cfg.ci
    table = [[r["vectors"]] * several + [r["benchmark"], fmt(r["spearman"], ".4f"), fmt(r["pearson"], ".4f"),
                                         f"{r['found']}/{r['pairs']}"] + [_ci(r)] * cfg.ci + [_p(r)] * several
             for r in rows]
    return [Table(title if several else f"{cfg.vectors[0]}: {title}", cols + ["p vs first"] * several, table),
            *notes(rows, lambda r: f"{r['vectors'] + ' ' if several else ''}{r['benchmark']}")]


def analogy_printout(rows: Sequence[Mapping], cfg: Any, dataset: str) -> Printout:
    """`mmwe eval-analogies` (``cfg``: its ``AnalogyRun``; ``dataset``: the analogy set's name)."""
    several = len(cfg.vectors) > 1
    title = f"analogies {dataset}, {cfg.method}, first {cfg.restrict_vocab} words"
    cols = ["vectors"] * several + ["section", "accuracy", "correct/answered", "skipped"] + ["p vs first"] * several
    table = [[r["vectors"]] * several + [r["section"], fmt(r["accuracy"], ".4f"),
                                         f"{r['correct']}/{r['questions'] - r['skipped']}", str(r["skipped"])]
             + [_p(r)] * several for r in rows]
    return [Table(title if several else f"{cfg.vectors[0]}: {title}", cols, table),
            *notes(rows, lambda r: r["vectors"])]


def triplet_printout(rows: Sequence[Mapping], cfg: Any, dataset: str, size: int) -> Printout:
    """`mmwe eval-triplets` (``cfg``: its ``TripletRun``; the triplet set's name and size)."""
    table = [(r["vectors"], fmt(r["accuracy"]), _ci(r) if cfg.ci else None, f"{r['covered']}/{r['triplets']}",
              fmt(r["p_vs_first"], ".3g") if "p_vs_first" in r else None) for r in rows]
    return [Table(f"triplet accuracy on {dataset} ({size} triplets)",
                  ["vectors", "accuracy", "95% CI", "covered", "p vs first"], table),
            *notes(rows, lambda r: r["vectors"])]


def mnno_printout(r: Mapping) -> Printout:
    """`mmwe mnno` (of ``mmwe.metrics.overlap.mnno_result``)."""
    rows = [("mNNO", f"{r['mnno']:.4f}"), ("chance", f"{r['chance']:.4f}"),
            ("mNNO / chance", f"{r['ratio_to_chance']:.2f}")]
    if "null_mean" in r:
        rows += [(f"null ({r['permutations']} shuffles)", f"{r['null_mean']:.4f} ± {r['null_std']:.4f}"),
                 ("p-value", f"{r['p_value']:.3g}")]
    rows += [("hnsw recall@K", f"{r['recall']:.4f}")] if "recall" in r else []
    rows += alignment_rows(r) if "cka" in r else []
    self_txt = "incl. self" if r["include_self"] else "excl. self"
    return [Table(f"mNNO@{r['k']} ({r['metric']}, {self_txt}, {r['backend']}) over {r['n']} pairs",
                  ["measure", "value"], rows)]


def alignment_rows(r: Mapping) -> list[tuple[str, str]]:
    """Table rows of the alignment metrics: value, and chance / null / p for the kNN ones."""
    rows = []
    for name in ALIGNMENT:
        text = f"{r[name]:.4f}"
        if f"{name}_chance" in r:
            text += f" (chance {r[name + '_chance']:.4f}"
            if f"{name}_null_mean" in r:
                null, std, p = (r[f"{name}_{x}"] for x in ("null_mean", "null_std", "p_value"))
                text += f", null {null:.4f} ± {std:.4f}, p {p:.3g}"
            text += ")"
        rows.append((f"{name} ({r['kernel']})" if name in ("cka", "unbiased_cka") else name, text))
    return rows
