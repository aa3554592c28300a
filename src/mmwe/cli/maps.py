"""`mmwe map train|apply`: learn a cross-modal map between paired vectors and apply it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mmwe.cli import app
from mmwe.cli import quiet as global_quiet
from mmwe.cli._common import print_json
from mmwe.errors import MmweError

map_app = typer.Typer(help="Train and apply cross-modal maps (linear or feed-forward).", no_args_is_help=True)
app.add_typer(map_app, name="map")

_VECTOR_OUT = (".txt", ".vec", ".bin", ".gz")  # FX suffixes written through mmwe.vectors.save (needs words)


@map_app.command("train")
def train(
    x: Annotated[str, typer.Argument(help="Input vectors: .npy, CSV rows label,v1,...,vd, or a vector file.")],
    y: Annotated[str, typer.Argument(help="Target vectors, paired with X by row (.npy/CSV) or by shared word.")],
    out: Annotated[str, typer.Option(help="Output model file (torch, read with weights_only).")],
    model: Annotated[str, typer.Option(help="lin (affine) or nn (feed-forward).")] = "lin",
    loss: Annotated[str, typer.Option(help="mse, max-margin or cosine.")] = "mse",
    hidden: Annotated[Optional[list[int]], typer.Option(help="Hidden layer size, once per layer (nn).")] = None,
    activation: Annotated[str, typer.Option(help="relu, tanh or sigmoid (nn).")] = "relu",
    dropout: Annotated[float, typer.Option(help="Dropout after each hidden layer (nn).")] = 0.0,
    margin: Annotated[float, typer.Option(help="Margin of the max-margin loss.")] = 0.5,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 100,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    batch_size: Annotated[int, typer.Option(help="Rows per step (and negatives pool of max-margin).")] = 64,
    weight_decay: Annotated[float, typer.Option(help="Adam L2 penalty.")] = 0.0,
    val_fraction: Annotated[float, typer.Option(help="Rows held out for early stopping (0: none).")] = 0.1,
    patience: Annotated[int, typer.Option(help="Epochs without improvement before stopping.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of init, split, shuffling and dropout.")] = 0,
    untrained: Annotated[bool, typer.Option("--untrained", help="Save the network at initialisation.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Train a map f with f(X) ~ Y (or save it untrained) and write it to --out."""
    from mmwe.fileio import check_output_path
    from mmwe.maps import MapConfig, untrained_map

    cfg = MapConfig(model=model, hidden=tuple(hidden or (300,)), activation=activation, dropout=dropout,
                    loss=loss, margin=margin, lr=lr, weight_decay=weight_decay, epochs=epochs,
                    batch_size=batch_size, val_fraction=val_fraction, patience=patience, seed=seed).validate()
    check_output_path(out)
    X, Y = _read_pair(x, y)
    if untrained:
        fmap = untrained_map(X.shape[1], Y.shape[1], cfg)
    else:
        fmap = _fit_with_progress(X, Y, cfg, quiet=json)
    fmap.save(out)
    summary = _summary(fmap, x, y, out, X.shape[0])
    if json:
        print_json(summary)
        return
    _print_summary(summary)


@map_app.command("apply")
def apply(
    model: Annotated[str, typer.Argument(help="Model file written by `mmwe map train`.")],
    x: Annotated[str, typer.Argument(help="Input vectors: .npy, CSV rows label,v1,...,vd, or a vector file.")],
    out: Annotated[str, typer.Option(help="Output: .npy, .csv (label,v1,...), or a vector file (.txt/.vec/.bin).")],
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Map every row of X with a trained map and write the predictions f(X)."""
    from mmwe.fileio import check_output_path
    from mmwe.maps import CrossModalMap

    check_output_path(out)
    fmap = CrossModalMap.load(model)
    labels, X = _read_one(x)
    try:
        FX = fmap.predict(X)
    except MmweError as exc:  # name the input file the library could not know
        raise MmweError(exc.message, path=x) from None
    _write_matrix(out, FX, labels)
    summary = {"model": model, "input": x, "output": out, "rows": int(FX.shape[0]),
               "in_dim": fmap.in_dim, "out_dim": fmap.out_dim}
    if json:
        print_json(summary)
        return
    Console().print(f"mapped {FX.shape[0]} rows {fmap.in_dim} -> {fmap.out_dim} dims with {model}; wrote {out}")


# ------------------------------------------------------------------------------------- helpers


def _fit_with_progress(X: np.ndarray, Y: np.ndarray, cfg, *, quiet: bool):
    from mmwe.maps import fit_map

    columns = (TextColumn("training {task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"), TimeElapsedColumn())
    with Progress(*columns, transient=True, disable=quiet or global_quiet(), console=Console(stderr=True)) as bar:
        task = bar.add_task(f"{cfg.model}/{cfg.loss}", total=cfg.epochs, status="")

        def on_epoch(epoch: int, hist: dict) -> None:
            v = hist["val_loss"][-1]
            status = f"train {hist['train_loss'][-1]:.4g}" + ("" if v != v else f" val {v:.4g}")
            bar.update(task, completed=epoch, status=status)

        return fit_map(X, Y, cfg, on_epoch=on_epoch)


def _read_npy(path: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise MmweError("expected a .npy matrix, got no such file; fix: check the path", path=path)
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise MmweError(f"expected a numeric .npy matrix, got an unreadable file ({str(exc)[:120]}); "
                        "fix: save it with numpy.save from a float array", path=path) from None


def _read_pair(x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
    """Paired rows: two .npy files by row; anything else through mmwe.datasets.paired (CSV by row, vectors by word)."""
    if Path(x).suffix == ".npy" and Path(y).suffix == ".npy":
        return _read_npy(x), _read_npy(y)
    from mmwe.datasets.paired import load_pair

    A, B, _names = load_pair(x, y)
    return A, B


def _read_one(x: str) -> tuple[list[str] | None, np.ndarray]:
    """(labels or None, matrix) of one input: .npy, label CSV, or any vector file."""
    suffix = Path(x).suffix.lower()
    if suffix == ".npy" and not Path(x).with_suffix(".words.txt").exists():
        return None, _read_npy(x)
    if suffix == ".csv":
        from mmwe.datasets.paired import read_label_csv

        return read_label_csv(x)
    from mmwe import vectors as vio

    vec = vio.load(x)
    return list(vec.words), vec.matrix


def _write_matrix(out: str, FX: np.ndarray, labels: list[str] | None) -> None:
    """Write FX as .npy, label CSV (row numbers when there are no labels) or a vector file (needs labels)."""
    from mmwe.fileio import atomic_path, atomic_write

    suffix = Path(out).suffix.lower()
    if suffix == ".npy":
        with atomic_path(out) as tmp:
            np.save(tmp, FX)
    elif suffix == ".csv":
        names = labels if labels is not None else [str(i) for i in range(FX.shape[0])]
        bad = next((n for n in names if "," in n or "\n" in n), None)
        if bad is not None:
            raise MmweError(f"expected labels without commas for CSV output, got {bad!r}; fix: write .npy",
                            path=out)
        with atomic_write(out, "w", encoding="utf-8", newline="\n") as fh:
            for name, row in zip(names, FX):
                fh.write(name + "," + ",".join(f"{v:.7g}" for v in row) + "\n")
    elif suffix in _VECTOR_OUT and labels is not None:
        from mmwe import vectors as vio

        vio.save(vio.Vectors(list(labels), FX, source=out), out)
    else:
        raise MmweError(f"expected an output ending in .npy or .csv (or {', '.join(_VECTOR_OUT)} for word "
                        f"vectors), got {Path(out).name!r}; fix: pick one of those suffixes", path=out)


def _summary(fmap, x: str, y: str, out: str, rows: int) -> dict:
    h = fmap.history
    return {"x": x, "y": y, "out": out, "rows": rows, "in_dim": fmap.in_dim, "out_dim": fmap.out_dim,
            "trained": fmap.trained, "config": fmap.config.to_dict(),
            "epochs_run": len(h.get("epoch", [])), "best_epoch": h.get("best_epoch"),
            "init_val_loss": h.get("init_val_loss"), "best_val_loss": h.get("best_val_loss"),
            "final_train_loss": (h.get("train_loss") or [None])[-1], "stopped_early": h.get("stopped_early")}


def _print_summary(s: dict) -> None:
    def fmt(v) -> str:
        return "-" if v is None or v != v else (f"{v:.4g}" if isinstance(v, float) else str(v))

    c = s["config"]
    table = Table(title=f"{'untrained ' if not s['trained'] else ''}map {c['model']} "
                        f"({s['in_dim']} -> {s['out_dim']}), loss {c['loss']}")
    table.add_column("field")
    table.add_column("value")
    for key in ("rows", "epochs_run", "best_epoch", "init_val_loss", "best_val_loss", "final_train_loss",
                "stopped_early", "out"):
        table.add_row(key, fmt(s[key]))
    Console().print(table)
