"""`mmwe train` (one Mao et al. 2016 language model; ``torchrun --no-python mmwe train ...``: data-parallel) and
`mmwe map train|apply` (a cross-modal map between paired vectors)."""

import typer

from mmwe import lm
from mmwe.cli.app import app, group
from mmwe.cli.console import bar_callback, print_json, print_summary, progress_bar
from mmwe.cli.options import config_options
from mmwe.corpus import read_manifest
from mmwe.devices import distributed_world
from mmwe.lm.config import TrainConfig, TrainFiles
from mmwe.maps.config import MapConfig
from mmwe.maps.files import MapApplyFiles, MapTrainFiles, apply_map_file, train_map_files
from mmwe.report.commands import map_printout, train_printout

map_app = group("map", "Train and apply cross-modal maps (linear or feed-forward).")


@app.command("train")
@config_options(TrainFiles, TrainConfig, flags={"lam": "--lambda"}, json="Print the summary as JSON (no progress bar).")
def train_lm(cfg: TrainFiles, overrides: dict, json: bool) -> None:
    """Train a Mao et al. language model (puretext, A, B or C) and export its word embeddings."""
    read_manifest(cfg.corpus)  # not a corpus: say so before torch is imported (by lm.train, on first use)
    settings = TrainConfig(**overrides).validate()
    with progress_bar(disable=json) as bar:
        metrics = lm.train(cfg.corpus, cfg.features, settings, cfg.out, progress=bar_callback(bar)).metrics
    if distributed_world().rank == 0:  # under torchrun only rank 0 reports
        print_json(metrics) if json else print_summary(train_printout(metrics, settings, cfg.out))


@map_app.command("train")
@config_options(MapConfig, MapTrainFiles, json="Print a JSON summary.")
def map_train(cfg: MapConfig, overrides: dict, json: bool) -> None:
    """Train a map f with f(X) ~ Y (or save it untrained) and write it to --out."""
    with progress_bar(disable=json) as bar:
        s = train_map_files(MapTrainFiles(**overrides), cfg, progress=bar_callback(bar))
    print_json(s) if json else print_summary(map_printout(s))


@map_app.command("apply")
@config_options(MapApplyFiles, json="Print a JSON summary.")
def map_apply(cfg: MapApplyFiles, json: bool) -> None:
    """Map every row of X with a trained map and write the predictions f(X).

    A map trained with --normalize normalises X with its training statistics first; f(X) is in the normalised Y space.
    """
    s = apply_map_file(cfg)
    print_json(s) if json else typer.echo(f"mapped {s['rows']} rows {s['in_dim']} -> {s['out_dim']} dims with "
                                          f"{cfg.model}; wrote {cfg.out}")
