"""`mmwe report RUN... --out report.html`: one self-contained HTML report (and report.md) of run folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmwe.cli.app import app
from mmwe.cli.console import bar_callback, progress_bar
from mmwe.fileio import check_output_path
from mmwe.report import build_report
from mmwe.report.runs import load_runs


@app.command("report")
def report(
    runs: Annotated[list[Path], typer.Argument(metavar="RUN", help="Run folders: `mmwe reproduce collell` (exp 1 or 2) and Mao runs, any mix.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write; the Markdown tables go beside it (.md).")] = Path("report.html"),
    title: Annotated[str, typer.Option(help="Page title.")] = "mmwe report",
    label_names: Annotated[Path | None, typer.Option("--label-names", help="IAPR TC-12 label names, one a line (line i names label id i-1), to show items by name.")] = None,
    explorer_items: Annotated[int, typer.Option("--explorer-items", min=1, help="Items per neighbour set built here (trained vectors); collell runs bring their own.")] = 500,
) -> None:
    """Self-contained HTML report: tables, SVG plots and a neighbour explorer; no network requests."""
    check_output_path(out)  # fail before any work (and before the progress bar draws)
    loaded = load_runs(runs)
    with progress_bar() as bar:
        path = build_report(loaded, out, title=title, label_names=label_names, explorer_items=explorer_items,
                            progress=bar_callback(bar))
    size = path.stat().st_size
    typer.echo(f"wrote {path} ({size / 1024:.0f} KiB) and {path.with_suffix('.md')}")
