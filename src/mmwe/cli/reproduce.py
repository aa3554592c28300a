"""`mmwe reproduce ...`: re-run the experiments of published papers and print / save their tables.

``reproduce_app`` is module-level so that other areas can add their paper's command to it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from mmwe.cli.app import app
from mmwe.cli.console import bar_callback, print_json, print_table, progress_bar, quiet
from mmwe.fileio import lock_output
from mmwe.report.tables import format_cell

reproduce_app = typer.Typer(help="Reproduce the experiments of published papers.", no_args_is_help=True)
app.add_typer(reproduce_app, name="reproduce")


def _print_rows(rows: list[dict], columns: list) -> None:
    keys = [c if isinstance(c, str) else c[0] for c in columns]
    print_table(None, [c if isinstance(c, str) else c[1] for c in columns],
                [[format_cell(r.get(k)) for k in keys] for r in rows])


@reproduce_app.command("collell")
def collell(
    exp: str = typer.Option("1", "--exp", help="1 (mNNO of trained maps), 2 (untrained maps), bridge (losses that "
                            "try to bridge the modalities) or imagined (imagined visual word vectors)."),
    dataset: str | None = typer.Option(None, "--dataset", help="1 / bridge: imagenet (built in; the default), "
                                          "iaprtc12 (default with --data-dir) or words (GloVe vs visual words)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Folder with the IAPR TC-12 CSVs (iaprtc12)."),
    visual: list[str] | None = typer.Option(None, "--visual", help="CNN of the visual words: efficientnet-lite0 "
                                               "(default) or mobilenetv2; repeatable for --exp 2 and imagined."),
    corpus: str | None = typer.Option(None, "--corpus", help="Corpus of the visual words: a folder or built-in names "
                                         "joined by '+' (default openmoji; exp 2: none). Missing features are "
                                         "extracted once into CORPUS/features/ (minutes)."),
    cache_dir: Path = typer.Option(Path("runs/cache"), "--cache-dir", help="Where built-in corpora are built."),
    min_images: int = typer.Option(3, "--min-images", help="Images a word needs to get a visual vector."),
    losses: str | None = typer.Option(None, "--losses", help="bridge: comma-separated loss families (default: all)."),
    folds: int = typer.Option(5, "--folds", help="Cross-validation folds."),
    k: int = typer.Option(10, "--k", help="Neighbours in mNNO."),
    metric: str = typer.Option("cosine", "--metric", help="mNNO neighbour metric: cosine or euclidean."),
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs (default: the authors' 50)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds and of the map initialisation."),
    workers: int | None = typer.Option(None, "--workers", help="Exp 1: map fits at once (default: the cores)."),
    out: Path | None = typer.Option(None, "--out", help="Run folder: results.json, results.md, report.md/html."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Collell & Moens (ACL 2018): do cross-modal maps keep the input's neighbours more than the target's?"""
    opts = {name: v for name, v in locals().items() if name not in ("exp", "out", "json_out")}  # the library's
    from mmwe.experiments.collell_runs import collell_experiment  # torch: imported once the options are valid
    from mmwe.fileio import json_ready
    from mmwe.report import result_table, summary_text, write_run_report

    lib, cfg = collell_experiment(exp, **opts)
    _ = out is None or lock_output(out)  # a second run writing the same --out refuses (released when main returns)
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
def mao(
    corpus: str | None = typer.Option(None, "--corpus", help="Corpus folder (see `mmwe corpus build`), or built-in "
                                      "names joined by '+', or 'all' (openmoji+openclipart+gemojione+art4apps+"
                                      "tuxpaint: runs the seeded study). Default: the built-in openmoji corpus."),
    features: Path | None = typer.Option(None, "--features", help="Image features (.npy + .keys.txt); default: "
                                            "CORPUS/features/efficientnet-lite0.npy (extracted if missing)."),
    out: Path = typer.Option(Path("runs/mao"), "--out", help="Run folder: one sub-folder per model, results.json/md."),
    variants: str = typer.Option("puretext,A-noshare,A,B,C", "--variants", help="Comma-separated rows to train."),
    triplets: str = typer.Option("cldr-triplets", "--triplets", help="Triplet dataset name or TSV path (one-seed "
                                 "run; the study mines its triplets from the test-split images)."),
    baseline: str = typer.Option("glove-6b-50d", "--baseline", help="Pretrained vectors evaluated beside the "
                                 "models ('none' to skip)."),
    paper_settings: bool = typer.Option(False, "--paper-settings", help="Train with the paper's values (min count "
                                        "51, batch 256, lr 1.0, 1024 negatives) instead of the small-corpus ones."),
    epochs: int | None = typer.Option(None, "--epochs", help="Maximum epochs per model."),
    lam: float = typer.Option(1.0, "--lambda", help="Weight of the image losses of B and C (one-seed run)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every model (one-seed run)."),
    seeds: int | None = typer.Option(None, "--seeds", help="Run the study: every model with seeds 0..N-1, lr and "
                                     "lambda tuned on validation perplexity, a learning curve, crossed tests."),
    fractions: str = typer.Option("0.1,0.3,1", "--fractions", help="Study: learning-curve shares of the training "
                                  "images."),
    lr_grid: str = typer.Option("0.1,0.3,1", "--lr-grid", help="Study: learning rates tried on Model A."),
    lambda_grid: str = typer.Option("0.1,1,10", "--lambda-grid", help="Study: lambdas tried for B and C."),
    workers: int | None = typer.Option(None, "--workers", help="Study: models trained at once (processes, 1 "
                                       "thread each; default: one per core)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Mao et al. (NIPS 2016): train Pure text RNN, Model A (with/without sharing), B and C; triplets + wordsim."""
    opts = {name: v for name, v in locals().items() if name != "json_out"}  # the library's options
    from mmwe.experiments.mao import reproduce_mao

    lock_output(out)  # a second run writing the same --out refuses (released when `main` returns)
    log = (lambda s: None) if json_out or quiet() else (lambda s: typer.echo(s, err=True))
    with progress_bar(disable=json_out) as bar:
        result, text = reproduce_mao(**opts, log=log, progress=bar_callback(bar))
    if json_out:
        print_json(result)
        return
    typer.echo(text)
    typer.echo(f"wrote {out}/results.json, {out}/results.md")
