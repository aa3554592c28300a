"""`mmwe reproduce collell|mao` (``reproduce_app``: add a paper's command to it), `mmwe report` and `mmwe demo`."""

import time
from pathlib import Path

import typer

from mmwe.cli.app import app, group
from mmwe.cli.console import bar_callback, print_json, print_summary, progress_bar, quiet
from mmwe.cli.options import config_options
from mmwe.experiments import mao as mao_study
from mmwe.experiments.config import CollellOut, CollellRun, DemoConfig, MaoOut
from mmwe.experiments.mao.config import MaoRun
from mmwe.fileio import json_ready
from mmwe.report import build_report, demo_report, write_run_report
from mmwe.report.commands import collell_printout
from mmwe.report.config import ReportConfig
from mmwe.report.runs import load_runs

reproduce_app = group("reproduce", "Reproduce the experiments of published papers.")


def _log(json: bool = False):
    return (lambda s: None) if json or quiet() else (lambda s: typer.echo(s, err=True))


@reproduce_app.command("collell")
@config_options(CollellOut, CollellRun, json="Print the result as JSON.")
def collell(cfg: CollellOut, overrides: dict, json: bool) -> None:
    """Collell & Moens (ACL 2018): do cross-modal maps keep the input's neighbours more than the target's?"""
    from mmwe.experiments.collell_runs import collell_experiment  # torch: once the options are valid

    lib, run = collell_experiment(CollellRun(**overrides))
    with progress_bar(disable=json) as bar:
        result = lib.run(run, bar_callback(bar), log=_log(json))
    if cfg.out is not None:
        write_run_report(lib.save(result, cfg.out))
    print_json(json_ready(result, drop_private=True)) if json else print_summary(collell_printout(result, cfg.out))


@reproduce_app.command("mao")
@config_options(MaoOut, MaoRun, flags={"lam": "--lambda"}, json="Print the result as JSON.")
def mao(cfg: MaoOut, overrides: dict, json: bool) -> None:
    """Mao et al. (NIPS 2016): train Pure text RNN, Model A (with/without sharing), B and C; triplets + wordsim."""
    with progress_bar(disable=json) as bar:  # reproduce_mao: torch, imported on first use
        result, text = mao_study.reproduce_mao(MaoRun(**overrides), cfg.out, log=_log(json), progress=bar_callback(bar))
    print_json(result) if json else typer.echo(f"{text}\nwrote {cfg.out}/results.json, {cfg.out}/results.md")


@app.command("report")
@config_options(ReportConfig)
def report(cfg: ReportConfig) -> None:
    """Self-contained HTML report: tables, SVG plots and a neighbour explorer; no network requests."""
    runs = load_runs(cfg.runs)  # fail before any work (and before the progress bar draws)
    with progress_bar() as bar:
        path = build_report(runs, cfg.out, title=cfg.title, label_names=cfg.label_names,
                            explorer_items=cfg.explorer_items, progress=bar_callback(bar))
    typer.echo(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB) and {path.with_suffix('.md')}")


@app.command("demo")
@config_options(DemoConfig, skip=("words_corpus",))
def demo(cfg: DemoConfig) -> None:
    """Run the reproductions on built-in data and write OUT/report.html."""
    from mmwe.experiments import demo as D  # torch: imported once the options are known to be valid

    t0 = time.perf_counter()
    with progress_bar() as bar:
        report = demo_report(D.run(cfg, bar_callback(bar), log=_log()), cfg.out, log=_log(), progress=bar_callback(bar))
    typer.echo(f"[demo] done in {time.perf_counter() - t0:.0f} s\nreport: {Path(report).resolve()}")
