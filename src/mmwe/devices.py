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
