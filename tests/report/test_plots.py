"""mmwe.report.plots: inline SVG figures with no id clash."""

from __future__ import annotations


def test_plots_are_inline_svg():
    from mmwe.report import plots

    rows = [{"dataset": "d", "direction": "I->T", "map": "lin", "mnno_x_fx": 0.3, "mnno_y_fx": 0.1, "mnno_x_y": 0.2}]
    a, b = plots.mnno_plot(rows, 0.05, title="t"), plots.mnno_plot(rows, 0.05, title="t")
    assert a.startswith("<svg ") and "<?xml" not in a and "DOCTYPE" not in a and a.rstrip().endswith("</svg>")
    ids = lambda s: set(__import__("re").findall(r'id="([^"]+)"', s))  # noqa: E731
    assert ids(a) and not ids(a) & ids(b)  # two figures on one page: no id clash
    curves = {"A": [{"step": 2, "loss": 3.0, "tokens_per_s": 10.0}, {"epoch": 0, "step": 2, "val_loss": 2.5}]}
    assert "<svg " in plots.curves_plot(curves, title="c")
    assert "<svg " in plots.throughput_plot({"A": 10.0}, curves, title="t")
