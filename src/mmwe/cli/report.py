"""`mmwe report RUN... --out report.html`: one self-contained HTML report (and report.md) of run folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmwe.cli.app import app
from mmwe.cli.console import bar_callback, progress_bar
from mmwe.cli.options import out_option
from mmwe.report import build_report
from mmwe.report.runs import load_runs

_RUNS = "Run folders: `mmwe reproduce collell` (exp 1 or 2) and Mao runs, any mix."
_LABELS = "IAPR TC-12 label names, one a line (line i names label id i-1), to show items by name."
_ITEMS = "Items per neighbour set built here (trained vectors); collell runs bring their own."


@app.command("report")
def report(
    runs: Annotated[list[Path], typer.Argument(metavar="RUN", help=_RUNS)],
    out: Annotated[Path, out_option("The HTML file to write; the Markdown tables go beside it (.md).")]
    = Path("report.html"),
    title: Annotated[str, typer.Option(help="Page title.")] = "mmwe report",
    label_names: Annotated[Path | None, typer.Option("--label-names", help=_LABELS)] = None,
    explorer_items: Annotated[int, typer.Option("--explorer-items", min=1, help=_ITEMS)] = 500,
) -> None:
    """Self-contained HTML report: tables, SVG plots and a neighbour explorer; no network requests."""
    loaded = load_runs(runs)  # fail before any work (and before the progress bar draws)
    with progress_bar() as bar:
        path = build_report(loaded, out, title=title, label_names=label_names, explorer_items=explorer_items,
                            progress=bar_callback(bar))
    size = path.stat().st_size
    typer.echo(f"wrote {path} ({size / 1024:.0f} KiB) and {path.with_suffix('.md')}")
