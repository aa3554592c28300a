"""The report's figures: matplotlib (Agg) drawn to SVG text for inlining in report.html.

Each function takes plain rows / records (as stored in a run folder) and returns an ``<svg ...>`` string with
the XML header stripped, text kept as text (``svg.fonttype = none``: smaller, selectable) and element ids
prefixed per figure so that several figures can share one page without id clashes.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
_counter = 0  # makes the id salt unique within one process


def _figure(width: float, height: float, ncols: int = 1, width_ratios: Sequence[float] | None = None):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False,
                             gridspec_kw={"width_ratios": width_ratios} if width_ratios else None)
    return fig, list(axes[0])


def to_svg(fig, name: str) -> str:
    """The figure as an inline ``<svg>`` element (no XML header / DOCTYPE), then closed."""
    import matplotlib
    import matplotlib.pyplot as plt

    global _counter
    _counter += 1
    salt = f"{re.sub(r'[^a-z0-9]', '', name.lower())[:12]}{_counter}"
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt, "font.size": 9}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"\n\s*", "\n", text)  # indentation is ~10% of the file
    # matplotlib numbers group ids per figure ("axes_1", ...): prefix every id and reference so that several
    # figures on one page never share one
    text = re.sub(r'(\bid="|url\(#|href="#)([^")]+)', lambda m: f"{m.group(1)}{salt}-{m.group(2)}", text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{name}" ', 1)


def _bars(ax, groups: Sequence[str], series: Mapping[str, Sequence[float | None]],
          errors: Mapping[str, Sequence[tuple[float | None, float | None]]] | None = None) -> None:
    """Grouped bars: one group per label, one bar per series; ``errors`` (lo, hi) per bar, None = none."""
    n = max(len(series), 1)
    width = 0.8 / n
    x = np.arange(len(groups))
    for i, (name, vals) in enumerate(series.items()):
        h = [np.nan if v is None else v for v in vals]
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, h, width, label=name, color=_COLORS[i % len(_COLORS)])
        if errors and name in errors:
            lo = [np.nan if (e[0] is None or v is None) else v - e[0] for v, e in zip(vals, errors[name])]
            hi = [np.nan if (e[1] is None or v is None) else e[1] - v for v, e in zip(vals, errors[name])]
            ax.errorbar(pos, h, yerr=[lo, hi], fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
    ax.set_xticks(x, groups, rotation=30 if max((len(g) for g in groups), default=0) > 8 else 0, ha="right"
                  if max((len(g) for g in groups), default=0) > 8 else "center")
    ax.grid(axis="y", alpha=0.3)


def mnno_plot(rows: Sequence[Mapping], chance: float | None, *, title: str) -> str:
    """mNNO(X,f(X)) vs mNNO(Y,f(X)) (and mNNO(X,Y)) per dataset / direction / map, the chance level dashed."""
    fig, (ax,) = _figure(6.0, 3.0)
    groups = [f"{r.get('dataset', '?')} {r['direction']} {r['map']}" for r in rows]
    _bars(ax, groups, {"mNNO(X,f(X))": [r.get("mnno_x_fx") for r in rows],
                       "mNNO(Y,f(X))": [r.get("mnno_y_fx") for r in rows],
                       "mNNO(X,Y)": [r.get("mnno_x_y") for r in rows]})
    if chance is not None:
        ax.axhline(chance, color="black", linestyle="--", linewidth=1, label=f"chance ({chance:.3f})")
    ax.set_ylabel("mNNO")
    ax.set_ylim(0, max(1e-3, *(v for r in rows for v in (r.get("mnno_x_fx"), r.get("mnno_y_fx"),
                                                           r.get("mnno_x_y"), chance) if v is not None)) * 1.35)
    ax.set_title(title)
    ax.legend(fontsize=7, ncols=2, loc="upper right")
    return to_svg(fig, title)


def spearman_plot(rows: Sequence[Mapping], maps: Sequence[str], *, similarity: str = "cosine", title: str,
                  columns: Sequence[str] | None = None) -> str:
    """Experiment 2: Spearman per benchmark, original vs each untrained map, one panel per embedding, with
    bootstrap 95% CI error bars where the rows carry them (``<col>_ci_low`` / ``<col>_ci_high``).

    ``columns``: the row keys drawn as bars (default ``original`` and ``f_<map>``; the imagined-vectors
    experiment draws ``original``, ``f_<map>`` and ``untrained_<map>``)."""
    rows = [r for r in rows if r.get("similarity") == similarity and r.get("original") is not None]
    embeddings = list(dict.fromkeys(r["embedding"] for r in rows)) or ["(no covered benchmark)"]
    widths = [max(2, sum(r["embedding"] == e for r in rows)) for e in embeddings]  # panels sized by benchmarks
    fig, axes = _figure(min(1.0 + 0.55 * sum(widths), 9.0), 3.2, len(embeddings), widths)
    cols = list(columns) if columns else ["original", *(f"f_{m}" for m in maps)]
    for ax, emb in zip(axes, embeddings):
        sel = [r for r in rows if r["embedding"] == emb]
        series = {c: [r.get(c) for r in sel] for c in cols}
        errors = {c: [(r.get(f"{c}_ci_low"), r.get(f"{c}_ci_high")) for r in sel] for c in cols}
        _bars(ax, [r["benchmark"] for r in sel], series, errors)
        ax.set_title(emb, fontsize=9)
        ax.axhline(0, color="black", linewidth=0.6)
    axes[0].set_ylabel(f"Spearman rho ({similarity})")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=7, ncols=len(labels))
    fig.suptitle(title, fontsize=9, x=0.02, ha="left")
    return to_svg(fig, title)


def model_scores_plot(rows: Sequence[Mapping], benchmarks: Sequence[str], *, title: str) -> str:
    """Trained vectors (Mao et al.): triplet accuracy with its bootstrap CI, and Spearman per benchmark."""
    fig, (a1, a2) = _figure(7.0, 3.0, 2)
    models = [str(r["model"]) for r in rows]
    acc = [r.get("accuracy") for r in rows]
    _bars(a1, models, {"triplet accuracy": acc},
          {"triplet accuracy": [(r.get("ci_low"), r.get("ci_high")) for r in rows]})
    a1.set_title("triplet accuracy (95% CI)", fontsize=9)
    _bars(a2, models, {b: [r.get(b) for r in rows] for b in benchmarks})
    a2.set_title("Spearman rho per benchmark", fontsize=9)
    a2.axhline(0, color="black", linewidth=0.6)
    if all(r.get(b) is None for r in rows for b in benchmarks):
        a2.text(0.5, 0.5, "no benchmark has enough pairs\nin these vocabularies", transform=a2.transAxes,
                ha="center", va="center", fontsize=8, color="#555")
    else:
        a2.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return to_svg(fig, title)


def learning_curve_plot(rows: Sequence[Mapping], *, title: str) -> str:
    """Accuracy against the share of training data, one line per model, error bars = sd over seeds."""
    fig, (ax,) = _figure(4.5, 3.0)
    models = list(dict.fromkeys(str(r["model"]) for r in rows))
    for i, m in enumerate(models):
        pts = sorted((r["fraction"], r.get("accuracy"), r.get("sd") or 0.0) for r in rows if r["model"] == m
                     and r.get("accuracy") is not None)
        if pts:
            x, y, e = zip(*pts)
            ax.errorbar(x, y, yerr=e, marker="o", capsize=3, label=m, color=_COLORS[i % len(_COLORS)])
    ax.set_xscale("log")
    ax.set_xlabel("share of the training images")
    ax.set_ylabel("triplet accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return to_svg(fig, title)


def curves_plot(curves: Mapping[str, Sequence[Mapping]], *, title: str) -> str:
    """Training loss (logged steps) and validation loss (per epoch) against the step, one line per model."""
    fig, (a1, a2) = _figure(7.0, 3.0, 2)
    for i, (name, recs) in enumerate(curves.items()):
        c = _COLORS[i % len(_COLORS)]
        tr = [(r["step"], r["loss"]) for r in recs if "loss" in r and "step" in r and _finite(r["loss"])]
        va = [(r["step"], r["val_loss"]) for r in recs if "val_loss" in r and "step" in r and _finite(r["val_loss"])]
        if tr:
            a1.plot(*zip(*tr), color=c, linewidth=1, label=name)
        if va:
            a2.plot(*zip(*va), color=c, linewidth=1, marker="o", markersize=3, label=name)
    a1.set_title("training loss", fontsize=9)
    a2.set_title("validation loss (per epoch)", fontsize=9)
    for ax in (a1, a2):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    a2.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return to_svg(fig, title)


def throughput_plot(mean_tokens_per_s: Mapping[str, float | None], curves: Mapping[str, Sequence[Mapping]], *,
                    title: str) -> str:
    """Training throughput: mean tokens/s per model (bars) and tokens/s of each logged interval over steps."""
    fig, (a1, a2) = _figure(7.0, 3.0, 2)
    names = list(mean_tokens_per_s)
    _bars(a1, names, {"tokens/s": [mean_tokens_per_s[n] for n in names]})
    a1.set_title("mean training tokens/s", fontsize=9)
    for i, (name, recs) in enumerate(curves.items()):
        pts = [(r["step"], r["tokens_per_s"]) for r in recs
               if "tokens_per_s" in r and "step" in r and "val_loss" not in r and _finite(r["tokens_per_s"])]
        if pts:
            a2.plot(*zip(*pts), color=_COLORS[i % len(_COLORS)], linewidth=1, label=name)
    a2.set_title("tokens/s per logged interval", fontsize=9)
    a2.set_xlabel("step")
    a2.grid(alpha=0.3)
    if curves:
        a2.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return to_svg(fig, title)


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)
