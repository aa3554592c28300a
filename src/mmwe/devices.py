"""One reading of ``--device auto|cpu|cuda`` for every command that runs torch (train, features, map train)."""

from __future__ import annotations

from mmwe.errors import MmweError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without one is a one-line error.

    ``cpu`` never imports torch's CUDA state."""
    if device not in DEVICES:
        raise MmweError(f"expected --device auto, cpu or cuda, got {device!r}")
    if device == "cpu":
        return "cpu"
    import torch  # heavy: only when a GPU might be used

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise MmweError(f"--device cuda: expected a CUDA device, got none (torch {torch.__version__}, CUDA build: "
                        f"{torch.version.cuda or 'no'}); fix: --device cpu or --device auto")
    return "cpu"
