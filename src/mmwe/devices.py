"""One reading of ``--device auto|cpu|cuda`` for every command that runs torch (train, features, map train), of the
distributed world torchrun describes, and of the CPU's bf16 units."""

from __future__ import annotations

import os

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


def torchrun_rank() -> tuple[int, int] | None:
    """(RANK, WORLD_SIZE) when started by ``torchrun`` with more than one process, else None."""
    try:
        world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    except ValueError:
        raise MmweError(f"expected integer RANK and WORLD_SIZE (set by torchrun), got RANK="
                        f"{os.environ.get('RANK')!r} WORLD_SIZE={os.environ.get('WORLD_SIZE')!r}") from None
    if world <= 1:
        return None
    if not 0 <= rank < world:
        raise MmweError(f"expected 0 <= RANK < WORLD_SIZE, got RANK={rank} WORLD_SIZE={world}")
    return rank, world


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU feature flags the kernel reports (Linux ``/proc/cpuinfo``); empty where it cannot be read.

    Read from the file, not from torch, so that commands which never load torch can ask too."""
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def cpu_bf16_units(flags: frozenset[str] | None = None) -> dict:
    """Which bf16 units this CPU has: ``avx512_bf16`` (bf16 dot products in the vector unit, about 2x the fp32
    FMA rate) and ``amx_bf16`` (AMX tile matrix units, many times the fp32 rate)."""
    flags = cpu_flags() if flags is None else flags
    return {"avx512_bf16": "avx512_bf16" in flags, "amx_bf16": "amx_bf16" in flags and "amx_tile" in flags}
