"""Maps on files: ``mmwe map train X Y --out MODEL`` (`train_map_files`) and ``mmwe map apply MODEL X --out FILE``
(`apply_map_file`), with their settings (torch-free at import: the CLI builds its options from these dataclasses;
torch loads on the first fit or load, through ``mmwe.maps``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from mmwe import maps
from mmwe.config import ARG, Opt
from mmwe.datasets.paired import load_pair, read_matrix_file, write_matrix_file
from mmwe.errors import MmweError
from mmwe.fileio import check_output_path
from mmwe.maps.config import MapConfig
from mmwe.progress import Progress
from mmwe.vectors.common import UnicodeErrors


@dataclass(frozen=True, kw_only=True)
class MapTrainFiles:
    """What ``mmwe map train`` reads and writes (its MapConfig aside)."""

    x: Annotated[str, ARG]  # Input vectors: .npy, CSV rows label,v1,...,vd, or a vector file.
    y: Annotated[str, ARG]  # Target vectors, paired with X by row (.npy/CSV) or by shared word.
    out: Annotated[str, Opt(out=True)]  # Output model file (torch, read with weights_only).
    untrained: bool = False  # Save the network at initialisation.
    unicode_errors: UnicodeErrors = "strict"  # Words in a vector file that are not UTF-8: strict (an error naming
    # the line), replace (U+FFFD, as gensim) or ignore (drop).


@dataclass(frozen=True, kw_only=True)
class MapApplyFiles:
    """What ``mmwe map apply`` reads and writes."""

    model: Annotated[str, ARG]  # Model file written by `mmwe map train`.
    x: Annotated[str, ARG]  # Input vectors: .npy, CSV rows label,v1,...,vd, or a vector file.
    out: Annotated[str, Opt(out=True)]  # Output: .npy, .csv (label,v1,...), or a vector file (.txt/.vec/.bin).
    unicode_errors: UnicodeErrors = "strict"  # Words in a vector file that are not UTF-8: strict (an error naming
    # the line), replace (U+FFFD, as gensim) or ignore (drop).


def train_map_files(files: MapTrainFiles, cfg: MapConfig, *, progress: Progress | None = None) -> dict:
    """Fit a map f(X) ~ Y on the paired files (or initialise it: ``files.untrained``), save it to ``files.out``;
    its summary. ``progress(epoch, epochs, what)`` hears each epoch with its train loss."""
    check_output_path(files.out)
    X, Y, _names = load_pair(files.x, files.y, unicode_errors=files.unicode_errors)  # before torch loads
    cfg = cfg.validate()
    if files.untrained:
        fmap = maps.untrained_map(X.shape[1], Y.shape[1], cfg)
    else:
        what = f"training {cfg.model}/{cfg.loss}, train loss"

        def on_epoch(epoch: int, h: dict) -> None:
            if progress is not None:
                progress(epoch, cfg.epochs, f"{what} {h['train_loss'][-1]:.4g}")

        fmap = maps.fit_map(X, Y, cfg, on_epoch=on_epoch)
    fmap.save(files.out)
    h = fmap.history
    return {"x": files.x, "y": files.y, "out": files.out, "rows": X.shape[0], "in_dim": fmap.in_dim,
            "out_dim": fmap.out_dim, "trained": fmap.trained, "config": fmap.config.to_dict(),
            "epochs_run": len(h.get("epoch", [])),
            **{k: h.get(k) for k in ("best_epoch", "init_val_loss", "best_val_loss", "stopped_early")},
            "final_train_loss": (h.get("train_loss") or [None])[-1]}


def apply_map_file(files: MapApplyFiles) -> dict:
    """Write f(X) of every row of ``files.x`` to ``files.out`` with the saved map ``files.model``; a summary.

    A map trained with normalisation normalises X with its training statistics first (f(X): normalised Y space)."""
    check_output_path(files.out)
    names, X = read_matrix_file(files.x, unicode_errors=files.unicode_errors)
    fmap = maps.CrossModalMap.load(files.model)
    try:
        FX = fmap.predict(X)
    except MmweError as exc:  # name the input file the map could not know
        raise MmweError(exc.message, path=files.x) from None
    write_matrix_file(names, FX, files.out)
    return {"model": files.model, "input": files.x, "output": files.out, "rows": int(FX.shape[0]),
            "in_dim": fmap.in_dim, "out_dim": fmap.out_dim, "normalize": fmap.config.normalize}
