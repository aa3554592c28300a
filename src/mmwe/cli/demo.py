"""`mmwe demo`: every reproduction on built-in data, then one report (see ``mmwe.experiments.demo``)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from mmwe.cli.app import app
from mmwe.cli.console import bar_callback, progress_bar, quiet


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Folder for every run and the report."),
    iapr_dir: Path | None = typer.Option(None, "--iapr-dir", help="IAPR TC-12 CSV folder (default: "
                                            "$MMWE_IAPR_DIR or ../shared/data/iaprtc12; skipped when absent)."),
    skip_mao: bool = typer.Option(False, "--skip-mao", help="Leave out the Mao et al. training runs."),
    collell_epochs: int | None = typer.Option(None, "--collell-epochs", help="Map training epochs "
                                                 "(default: the authors' 50)."),
    skip_words: bool = typer.Option(False, "--skip-words", help="Leave out the visual-word runs (experiment 1 on "
                                    "words, experiment 2's visual half, the imagined vectors)."),
) -> None:
    """Run the reproductions on built-in data and write OUT/report.html."""
    from mmwe.experiments import demo as D  # torch: imported once the options are known to be valid
    from mmwe.report import build_report, summary_text, write_run_report
    from mmwe.report.runs import load_run

    say = (lambda m: None) if quiet() else (lambda m: typer.echo(m, err=True))
    cfg = D.DemoConfig(out=str(out), iapr_dir=None if iapr_dir is None else str(iapr_dir), skip_mao=skip_mao,
                       collell_epochs=collell_epochs, skip_words=skip_words)
    t0 = time.perf_counter()
    with progress_bar() as bar:
        runs = D.run(cfg, bar_callback(bar), log=say)
        for run_dir in runs:
            if run_dir.name.startswith("collell"):
                write_run_report(run_dir)
                say(summary_text(load_run(run_dir).result))
            else:
                say((run_dir / "results.md").read_text(encoding="utf-8"))  # the Mao table and its findings
        report = build_report(runs, out / "report.html", title="mmwe demo", progress=bar_callback(bar))
    typer.echo(f"[demo] done in {time.perf_counter() - t0:.0f} s")
    typer.echo(f"report: {Path(report).resolve()}")
