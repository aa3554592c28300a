"""`mmwe demo`: every reproduction on built-in data, then one report (see ``mmwe.experiments.demo``)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import typer

from mmwe.cli.app import app
from mmwe.cli.console import bar_callback, progress_bar, quiet
from mmwe.cli.options import config_options


@app.command("demo")
@config_options("mmwe.experiments.demo:DemoConfig", skip=("words_corpus",))
def demo(overrides: dict | None = None) -> None:
    """Run the reproductions on built-in data and write OUT/report.html."""
    from mmwe.experiments import demo as D  # torch: imported once the options are known to be valid
    from mmwe.report import build_report, summary_text, write_run_report
    from mmwe.report.runs import load_run

    say = (lambda m: None) if quiet() else (lambda m: typer.echo(m, err=True))
    cfg = replace(D.DemoConfig(), **overrides)
    t0 = time.perf_counter()
    with progress_bar() as bar:
        runs = D.run(cfg, bar_callback(bar), log=say)
        for run_dir in runs:
            if run_dir.name.startswith("collell"):
                write_run_report(run_dir)
                say(summary_text(load_run(run_dir).result))
            else:
                say((run_dir / "results.md").read_text(encoding="utf-8"))  # the Mao table and its findings
        report = build_report(runs, Path(cfg.out) / "report.html", title="mmwe demo", progress=bar_callback(bar))
    typer.echo(f"[demo] done in {time.perf_counter() - t0:.0f} s")
    typer.echo(f"report: {Path(report).resolve()}")
