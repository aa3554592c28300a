"""Figures of the bridge experiment (``mmwe.experiments.bridge``), as inline SVG like ``mmwe.report.plots``.

* :func:`bridge_scatter_plot`: mNNO(X, f(X)) against mNNO(Y, f(X)), one colour per loss, one marker per
  direction and map, the diagonal drawn: a point above it is a map whose outputs are closer to the target's
  neighbourhoods than to the input's (the seed paper's finding is that every map lies below).
* :func:`bridge_retrieval_plot`: R@1 / R@5 / R@10 of the paired item per loss, one panel per direction and map.

Both take the ``rows`` of a saved result (plain dicts) and return an ``<svg ...>`` string.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mmwe.report.plots import _COLORS, _bars, _figure, to_svg

_PALETTE = [*_COLORS, "#bcbd22", "#17becf", "#393b79", "#aec7e8"]  # the 10 families of GRIDS get distinct colours
_MARKERS = {("I->T", "lin"): "o", ("I->T", "nn"): "s", ("T->I", "lin"): "^", ("T->I", "nn"): "D"}


def _losses(rows: Sequence[Mapping]) -> list[str]:
    return list(dict.fromkeys(str(r["loss"]) for r in rows))


def bridge_scatter_plot(rows: Sequence[Mapping], *, title: str) -> str:
    """mNNO(X,f(X)) (x axis) vs mNNO(Y,f(X)) (y axis) per row, one panel per dataset, the diagonal y = x."""
    datasets = list(dict.fromkeys(str(r.get("dataset", "?")) for r in rows)) or ["(no rows)"]
    fig, axes = _figure(min(3.4 * len(datasets) + 1.6, 9.0), 3.4, len(datasets))
    colours = {loss: _PALETTE[i % len(_PALETTE)] for i, loss in enumerate(_losses(rows))}
    for ax, ds in zip(axes, datasets):
        sel = [r for r in rows if str(r.get("dataset", "?")) == ds and r.get("mnno_x_fx") is not None]
        values = [v for r in sel for v in (r["mnno_x_fx"], r["mnno_y_fx"])] or [0.0, 1.0]
        lo, hi = max(0.0, min(values) - 0.03), min(1.0, max(values) + 0.03)
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, linestyle="--", zorder=1)
        ax.fill_between([lo, hi], [lo, hi], [hi, hi], color="#2ca02c", alpha=0.06, zorder=0)  # above: closer to Y
        for r in sel:
            ax.scatter(r["mnno_x_fx"], r["mnno_y_fx"], s=28, color=colours[str(r["loss"])], zorder=2,
                       marker=_MARKERS.get((r.get("direction"), r.get("map")), "o"), edgecolors="black",
                       linewidths=0.4)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.set_xlabel("mNNO(X, f(X))")
        ax.set_title(ds, fontsize=9)
        ax.text(0.03, 0.95, "above: f(X) closer to Y", transform=ax.transAxes, fontsize=7, va="top", color="#2a6a2a")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mNNO(Y, f(X))")
    handles = [axes[0].scatter([], [], color=c, label=loss) for loss, c in colours.items()]
    handles += [axes[0].scatter([], [], marker=m, color="white", edgecolors="black", label=f"{d} {mp}")
                for (d, mp), m in _MARKERS.items() if any(r.get("direction") == d and r.get("map") == mp for r in rows)]
    if handles:
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7)
    fig.suptitle(title, fontsize=9)
    return to_svg(fig, title)


def _grid(n: int, ncols: int, width: float, height: float):
    """A figure of n panels in rows of ``ncols`` (Agg backend, as plots._figure); unused panels hidden."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height * nrows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def bridge_retrieval_plot(rows: Sequence[Mapping], *, ks: Sequence[int] = (1, 5, 10), title: str) -> str:
    """Grouped bars of R@k per loss, one panel per (dataset, direction, map) present in ``rows``."""
    panels = list(dict.fromkeys((r.get("dataset", "?"), r.get("direction"), r.get("map")) for r in rows))
    panels = panels or [("(no rows)", None, None)]
    ncols = min(len(panels), 4)
    fig, axes = _grid(len(panels), ncols, min(2.8 * ncols + 0.8, 11.5), 2.8)
    for ax, (ds, d, m) in zip(axes, panels):
        sel = [r for r in rows if (r.get("dataset", "?"), r.get("direction"), r.get("map")) == (ds, d, m)]
        _bars(ax, [str(r["loss"]) for r in sel], {f"R@{k}": [r.get(f"r@{k}") for r in sel] for k in ks})
        ax.set_title(" ".join(str(v) for v in (ds, d, m) if v), fontsize=8)
    axes[0].set_ylabel("recall of the paired item")
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return to_svg(fig, title)
