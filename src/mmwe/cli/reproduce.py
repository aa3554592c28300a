"""`mmwe reproduce ...`: re-run the experiments of published papers and print / save their tables.

``reproduce_app`` is module-level so that other areas can add their paper's command to it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from mmwe.cli.app import app
from mmwe.cli.console import bar_callback, print_json, print_table, progress_bar, quiet
from mmwe.cli.options import config_options, out_option
from mmwe.report.tables import format_cell

reproduce_app = typer.Typer(help="Reproduce the experiments of published papers.", no_args_is_help=True)
app.add_typer(reproduce_app, name="reproduce")


def _print_rows(rows: list[dict], columns: list) -> None:
    keys = [c if isinstance(c, str) else c[0] for c in columns]
    print_table(None, [c if isinstance(c, str) else c[1] for c in columns],
                [[format_cell(r.get(k)) for k in keys] for r in rows])


@reproduce_app.command("collell")
@config_options("mmwe.experiments.collell_runs:CollellRun")
def collell(
    out: Annotated[Path | None, out_option("Run folder: results.json, results.md, report.md/html.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    overrides: dict | None = None,
) -> None:
    """Collell & Moens (ACL 2018): do cross-modal maps keep the input's neighbours more than the target's?"""
    from mmwe.experiments.collell_runs import CollellRun, collell_experiment  # torch: once the options are valid
    from mmwe.fileio import json_ready
    from mmwe.report import result_table, summary_text, write_run_report

    lib, cfg = collell_experiment(replace(CollellRun(), **overrides))
    log = (lambda s: None) if json_out or quiet() else (lambda s: typer.echo(s, err=True))
    with progress_bar(disable=json_out) as bar:
        result = lib.run(cfg, bar_callback(bar), log=log)
    if out is not None:
        write_run_report(lib.save(result, out))
    if json_out:
        print_json(json_ready(result, drop_private=True))
        return
    rows, cols = result_table(result)
    _print_rows(rows, cols)
    typer.echo(summary_text(result))
    if out is not None:
        typer.echo(f"wrote {out}/results.json, results.md, report.md, report.html")


@reproduce_app.command("mao")
@config_options("mmwe.experiments.mao.config:MaoRun", flags={"lam": "--lambda"})
def mao(
    out: Annotated[Path, out_option("Run folder: one sub-folder per model, results.json/md.")] = Path("runs/mao"),
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    overrides: dict | None = None,
) -> None:
    """Mao et al. (NIPS 2016): train Pure text RNN, Model A (with/without sharing), B and C; triplets + wordsim."""
    from mmwe.experiments.mao import reproduce_mao
    from mmwe.experiments.mao.config import MaoRun

    log = (lambda s: None) if json_out or quiet() else (lambda s: typer.echo(s, err=True))
    with progress_bar(disable=json_out) as bar:
        result, text = reproduce_mao(replace(MaoRun(), **overrides), out, log=log, progress=bar_callback(bar))
    if json_out:
        print_json(result)
        return
    typer.echo(text)
    typer.echo(f"wrote {out}/results.json, {out}/results.md")
