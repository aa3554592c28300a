"""Atomic, resumable checkpoints that load with ``torch.load(weights_only=True)``.

A checkpoint holds the model and optimizer state, RNG states (as uint8 tensors), the data position (epoch,
batch within the epoch, global step), the early-stopping state and the config as plain types. Written to a
temporary file and renamed, so a crash leaves the previous checkpoint intact.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mmwe.errors import MmweError
from mmwe.fileio import atomic_path

FORMAT = "mmwe-train-checkpoint-1"


def save_checkpoint(path: Path, *, model, optimizer, sampler_state: torch.Tensor, position: dict, state: dict,
                    identity: dict, shapes: dict) -> None:
    """Write everything needed to continue the run exactly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "format": FORMAT,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "sampler": sampler_state},
        "position": dict(position),  # epoch, batch (next batch index in that epoch), step
        "state": state,  # early stopping and history, plain types
        "identity": identity,  # TrainConfig fields that define the run
        "shapes": shapes,  # vocab_size, feat_dim
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def load_checkpoint(path: Path, *, identity: dict, shapes: dict) -> dict:
    """Read a checkpoint; MmweError when it is unreadable or was written for another config or data."""
    if not path.is_file():
        raise MmweError("expected a checkpoint to resume from, found none; train without --resume first", path=path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file
        raise MmweError(f"expected a training checkpoint, could not read it ({type(exc).__name__}); "
                        "delete it or train without --resume", path=path) from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise MmweError(f"expected a {FORMAT} file, got something else; train without --resume", path=path)
    diff = {k: (blob["identity"].get(k), v) for k, v in identity.items() if blob["identity"].get(k) != v}
    diff |= {k: (blob["shapes"].get(k), v) for k, v in shapes.items() if blob["shapes"].get(k) != v}
    if diff:
        shown = ", ".join(f"{k}: checkpoint {a!r} vs now {b!r}" for k, (a, b) in sorted(diff.items())[:4])
        raise MmweError(f"expected a checkpoint of the same config, got another ({shown}); "
                        "resume with the original settings or use a new --out", path=path)
    return blob
