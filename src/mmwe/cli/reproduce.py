"""`mmwe reproduce ...`: re-run the experiments of published papers and print / save their tables.

``reproduce_app`` is module-level so that other areas can add their paper's command to it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from mmwe.cli.app import app
from mmwe.cli.console import bar_callback, print_json, print_table, progress_bar, quiet
from mmwe.report.tables import format_cell

reproduce_app = typer.Typer(help="Reproduce the experiments of published papers.", no_args_is_help=True)
app.add_typer(reproduce_app, name="reproduce")


def _print_rows(rows: list[dict], columns: list) -> None:
    keys = [c if isinstance(c, str) else c[0] for c in columns]
    print_table(None, [c if isinstance(c, str) else c[1] for c in columns],
                [[format_cell(r.get(k)) for k in keys] for r in rows])


@reproduce_app.command("collell")
def collell(
    exp: int = typer.Option(1, "--exp", help="Experiment: 1 (mNNO of trained maps) or 2 (untrained maps)."),
    dataset: str | None = typer.Option(None, "--dataset", help="Experiment 1 data: imagenet (built in; the "
                                          "default) or iaprtc12 (the default when --data-dir is given)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Folder with the IAPR TC-12 CSVs (iaprtc12)."),
    folds: int = typer.Option(5, "--folds", help="Cross-validation folds."),
    k: int = typer.Option(10, "--k", help="Neighbours in mNNO."),
    metric: str = typer.Option("cosine", "--metric", help="mNNO neighbour metric: cosine or euclidean."),
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs (default: the authors' 50)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds and of the map initialisation."),
    out: Path | None = typer.Option(None, "--out", help="Run folder: results.json, results.md, report.md/html."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Collell & Moens (ACL 2018): do cross-modal maps keep the input's neighbours more than the target's?"""
    from mmwe.datasets.iaprtc12 import iapr_paths
    from mmwe.experiments import collell as C  # torch: imported once the options are known to be valid
    from mmwe.fileio import json_ready
    from mmwe.report import result_table, summary_text, write_run_report

    dataset = dataset or ("imagenet" if data_dir is None else "iaprtc12")
    cfg = C.CollellConfig(exp=exp, dataset=dataset, data_dir=None if data_dir is None else str(data_dir),
                          folds=folds, k=k, metric=metric, epochs=epochs, seed=seed).validate()
    if exp == 1 and cfg.dataset == "iaprtc12":
        iapr_paths(cfg.data_dir)  # fail before any work (and before the progress bar draws)
    with progress_bar(disable=json_out) as bar:
        result = C.run(cfg, bar_callback(bar))
    if out is not None:
        write_run_report(C.save(result, out))
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
    corpus: Path | None = typer.Option(None, "--corpus", help="Corpus folder (see `mmwe corpus build`); default: "
                                          "the built-in openmoji corpus, built under --out on first use."),
    features: Path | None = typer.Option(None, "--features", help="Image features (.npy + .keys.txt); default: "
                                            "CORPUS/features/efficientnet-lite0.npy (extracted if missing)."),
    out: Path = typer.Option(Path("runs/mao"), "--out", help="Run folder: one sub-folder per model, results.json/md."),
    variants: str = typer.Option("puretext,A-noshare,A,B,C", "--variants", help="Comma-separated rows to train."),
    triplets: str = typer.Option("cldr-triplets", "--triplets", help="Triplet dataset name or TSV path."),
    baseline: str = typer.Option("glove-6b-50d", "--baseline", help="Pretrained vectors evaluated beside the "
                                 "models ('none' to skip)."),
    paper_settings: bool = typer.Option(False, "--paper-settings", help="Train with the paper's values (min count "
                                        "51, batch 256, lr 1.0, 1024 negatives) instead of the small-corpus ones."),
    epochs: int | None = typer.Option(None, "--epochs", help="Maximum epochs per model."),
    lam: float = typer.Option(1.0, "--lambda", help="Weight of the image losses of B and C."),
    seed: int = typer.Option(0, "--seed", help="Seed of every model."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Mao et al. (NIPS 2016): train Pure text RNN, Model A (with/without sharing), B and C; triplets + wordsim."""
    from mmwe.experiments import mao as M

    log = (lambda s: None) if json_out or quiet() else (lambda s: typer.echo(s, err=True))
    names = tuple(v.strip() for v in variants.split(",") if v.strip())
    overrides = {} if paper_settings else dict(M.SMALL_CORPUS_OVERRIDES)
    if epochs is not None:
        overrides["epochs"] = epochs
    cfg = M.MaoConfig(variants=names, triplets=triplets, baseline=None if baseline == "none" else baseline,
                      train_overrides=overrides, lam=lam, seed=seed)
    for n in names:
        M.variant_config(n, cfg)  # unknown variant / setting: fail before any work
    if corpus is None:
        with progress_bar(disable=json_out) as bar:
            corpus, auto_feats = M.prepare_openmoji(out, log, progress=bar_callback(bar))
        features = features or auto_feats
    with progress_bar(disable=json_out) as bar:
        result = M.run(corpus, features, out, cfg, log=log, progress=bar_callback(bar))
    if json_out:
        print_json(result)
        return
    typer.echo(M.markdown(result))
    typer.echo(f"wrote {out}/results.json, {out}/results.md")

