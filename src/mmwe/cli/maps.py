"""`mmwe map train|apply`: learn a cross-modal map between paired vectors and apply it."""

import typer

from mmwe.cli.app import group
from mmwe.cli.console import bar_callback, print_json, print_summary, progress_bar
from mmwe.cli.options import config_options
from mmwe.maps.config import MapConfig
from mmwe.maps.files import MapApplyFiles, MapTrainFiles, apply_map_file, train_map_files
from mmwe.report.commands import map_printout

map_app = group("map", "Train and apply cross-modal maps (linear or feed-forward).")


@map_app.command("train")
@config_options(MapConfig, MapTrainFiles, json="Print a JSON summary.")
def train(cfg: MapConfig, overrides: dict, json: bool) -> None:
    """Train a map f with f(X) ~ Y (or save it untrained) and write it to --out."""
    with progress_bar(disable=json) as bar:
        s = train_map_files(MapTrainFiles(**overrides), cfg, progress=bar_callback(bar))
    print_json(s) if json else print_summary(map_printout(s))


@map_app.command("apply")
@config_options(MapApplyFiles, json="Print a JSON summary.")
def apply(cfg: MapApplyFiles, json: bool) -> None:
    """Map every row of X with a trained map and write the predictions f(X).

    A map trained with --normalize normalises X with its training statistics first; f(X) is in the normalised Y space.
    """
    s = apply_map_file(cfg)
    print_json(s) if json else typer.echo(f"mapped {s['rows']} rows {s['in_dim']} -> {s['out_dim']} dims with "
                                          f"{cfg.model}; wrote {cfg.out}")
