"""`mmwe map train|apply`: learn a cross-modal map between paired vectors and apply it."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from mmwe.cli.app import group
from mmwe.cli.console import bar_callback, print_json, print_table, progress_bar
from mmwe.cli.options import config_options, out_option, unicode_errors_option
from mmwe.datasets.paired import load_pair, read_matrix_file, write_matrix_file
from mmwe.errors import MmweError
from mmwe.fileio import check_output_path

map_app = group("map", "Train and apply cross-modal maps (linear or feed-forward).")
_X_HELP = "Input vectors: .npy, CSV rows label,v1,...,vd, or a vector file."


@map_app.command("train")
@config_options("mmwe.maps.config:MapConfig")
def train(
    x: Annotated[str, typer.Argument(help=_X_HELP)],
    y: Annotated[str, typer.Argument(help="Target vectors, paired with X by row (.npy/CSV) or by shared word.")],
    out: Annotated[str, out_option("Output model file (torch, read with weights_only).")],
    untrained: Annotated[bool, typer.Option("--untrained", help="Save the network at initialisation.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
    unicode_errors: Annotated[str, unicode_errors_option()] = "strict",
    overrides: dict | None = None,
) -> None:
    """Train a map f with f(X) ~ Y (or save it untrained) and write it to --out."""
    check_output_path(out)
    X, Y, _names = load_pair(x, y, unicode_errors=unicode_errors)
    from mmwe.maps import MapConfig, fit_map, untrained_map  # torch

    cfg = replace(MapConfig(), **overrides).validate()
    if untrained:
        fmap = untrained_map(X.shape[1], Y.shape[1], cfg)
    else:
        with progress_bar(disable=json) as bar:
            update, what = bar_callback(bar), f"training {cfg.model}/{cfg.loss}, train loss"
            fmap = fit_map(X, Y, cfg, on_epoch=lambda e, h: update(e, cfg.epochs, f"{what} {h['train_loss'][-1]:.4g}"))
    fmap.save(out)
    h = fmap.history
    s = {"x": x, "y": y, "out": out, "rows": X.shape[0], "in_dim": fmap.in_dim, "out_dim": fmap.out_dim,
         "trained": fmap.trained, "config": fmap.config.to_dict(), "epochs_run": len(h.get("epoch", [])),
         **{k: h.get(k) for k in ("best_epoch", "init_val_loss", "best_val_loss", "stopped_early")},
         "final_train_loss": (h.get("train_loss") or [None])[-1]}
    if json:
        return print_json(s)
    title = f"{'' if s['trained'] else 'untrained '}map {cfg.model} ({s['in_dim']} -> {s['out_dim']}), loss {cfg.loss}"
    s["normalize"] = cfg.normalize or "none"
    keys = ("rows", "normalize", "epochs_run", "best_epoch", "init_val_loss", "best_val_loss", "final_train_loss",
            "stopped_early", "out")
    print_table(title, ["field", "value"], [(k, f"{s[k]:.4g}" if isinstance(s[k], float) else s[k]) for k in keys])


@map_app.command("apply")
def apply(
    model: Annotated[str, typer.Argument(help="Model file written by `mmwe map train`.")],
    x: Annotated[str, typer.Argument(help=_X_HELP)],
    out: Annotated[str, out_option("Output: .npy, .csv (label,v1,...), or a vector file (.txt/.vec/.bin).")],
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
    unicode_errors: Annotated[str, unicode_errors_option()] = "strict",
) -> None:
    """Map every row of X with a trained map and write the predictions f(X).

    A map trained with --normalize normalises X with its training statistics first; f(X) is in the normalised Y space.
    """
    check_output_path(out)
    names, X = read_matrix_file(x, unicode_errors=unicode_errors)
    from mmwe.maps import CrossModalMap  # torch

    fmap = CrossModalMap.load(model)
    try:
        FX = fmap.predict(X)
    except MmweError as exc:  # name the input file the library could not know
        raise MmweError(exc.message, path=x) from None
    write_matrix_file(names, FX, out)
    s = {"model": model, "input": x, "output": out, "rows": int(FX.shape[0]), "in_dim": fmap.in_dim,
         "out_dim": fmap.out_dim, "normalize": fmap.config.normalize}
    print_json(s) if json else typer.echo(f"mapped {s['rows']} rows {fmap.in_dim} -> {fmap.out_dim} dims with {model}; "
                                          f"wrote {out}")
