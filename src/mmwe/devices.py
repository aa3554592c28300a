"""One reading of ``--device auto|cpu|cuda`` for every command that runs torch (train, features, map train), of the
distributed world torchrun describes, and of the CPU's bf16 units."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, get_args

from mmwe.errors import MmweError

Device = Literal["auto", "cpu", "cuda"]  # --device of every command that may run on a GPU
DEVICES = get_args(Device)


GPU_NODE = "/dev/nvidia0"  # the first NVIDIA device node: torch sees no CUDA GPU where it is missing


def gpu_node_present() -> bool:
    """Whether an NVIDIA device node exists: asks without importing torch (about 2-3 s)."""
    return os.path.exists(GPU_NODE)


def resolve_device(device: str = "auto", *, torch_free: bool = False) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without one is a one-line error.

    ``cpu`` never imports torch's CUDA state; with ``torch_free``, neither does ``auto`` where no NVIDIA device
    node exists (`gpu_node_present`): `mmwe mnno` on a CPU machine stays torch-free."""
    if device not in DEVICES:
        raise MmweError(f"expected --device auto, cpu or cuda, got {device!r}")
    if device == "cpu" or (torch_free and device == "auto" and not gpu_node_present()):
        return "cpu"
    import torch  # heavy: only when a GPU might be used

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise MmweError(f"--device cuda: expected a CUDA device, got none (torch {torch.__version__}, CUDA build: "
                        f"{torch.version.cuda or 'no'}); fix: --device cpu or --device auto")
    return "cpu"


@dataclass(frozen=True)
class DistributedWorld:
    """This process in the job torchrun started (one process alone: the defaults)."""

    rank: int = 0  # RANK: this process among all the job's processes
    size: int = 1  # WORLD_SIZE: processes in the job
    local_rank: int = 0  # LOCAL_RANK: this process among those of its machine (it picks the GPU)

    def cuda_device(self) -> str:
        """This rank's GPU: ``cuda:LOCAL_RANK``, modulo the GPUs torch sees (ranks share GPUs when a machine has
        fewer GPUs than ranks)."""
        import torch  # heavy: only when a GPU is used

        return f"cuda:{self.local_rank % max(1, torch.cuda.device_count())}"


def distributed_world() -> DistributedWorld:
    """The one reading of torchrun's RANK, WORLD_SIZE and LOCAL_RANK (unset: one process, rank 0); a one-line
    error for values torchrun never sets. WORLD_SIZE <= 1 is one process, whatever RANK says."""
    env = os.environ
    try:
        world, rank = int(env.get("WORLD_SIZE", "1")), int(env.get("RANK", "0"))
    except ValueError:
        raise MmweError(f"expected integer RANK and WORLD_SIZE (set by torchrun), got RANK="
                        f"{env.get('RANK')!r} WORLD_SIZE={env.get('WORLD_SIZE')!r}") from None
    if world <= 1:
        return DistributedWorld()
    if not 0 <= rank < world:
        raise MmweError(f"expected 0 <= RANK < WORLD_SIZE, got RANK={rank} WORLD_SIZE={world}")
    local = env.get("LOCAL_RANK", "0")
    if not local.isdigit():
        raise MmweError(f"expected a non-negative integer LOCAL_RANK (set by torchrun), got LOCAL_RANK={local!r}")
    return DistributedWorld(rank, world, int(local))


def torchrun_rank() -> tuple[int, int] | None:
    """(RANK, WORLD_SIZE) of ``distributed_world()`` when torchrun started more than one process, else None."""
    world = distributed_world()
    return (world.rank, world.size) if world.size > 1 else None


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
