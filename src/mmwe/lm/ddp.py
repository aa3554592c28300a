"""Data parallelism over processes (torchrun or a local spawn): gloo on CPU, nccl on GPU.

Every rank builds the same batch list; rank r trains on ``batch[r::world]`` of each global batch and divides its
loss sums by the GLOBAL token / sentence counts, so summing the ranks' gradients gives exactly the gradient of the
one-process loss on the whole batch. We all-reduce ourselves instead of wrapping the model in
DistributedDataParallel because the embedding tables have sparse gradients, which DDP's bucketed all-reduce does
not support on nccl and gloo handles slowly: dense gradients go in one flat SUM all-reduce, sparse ones are
all-gathered as (row ids, rows) and summed. Every rank draws the same negative candidates (same seeded generator),
so after the reduction all ranks apply the same update and stay bit-identical to each other.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import torch
import torch.distributed as dist

from mmwe.devices import distributed_world


@dataclass
class World:
    rank: int = 0
    size: int = 1
    owned: bool = False  # we created the process group (and destroy it when training ends)

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_from_env(device: torch.device) -> World:
    """Join the process group torchrun (or ``spawn_train``) described in the environment; World() when alone."""
    ranks = distributed_world()
    if ranks.size <= 1:
        return World()
    owned = not dist.is_initialized()
    if owned:
        if device.type == "cuda":
            torch.cuda.set_device(ranks.cuda_device())
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), owned)


def close(world: World) -> None:
    if world.owned and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_grads(params: list[torch.nn.Parameter], sparse: set[int], world: World) -> None:
    """Sum gradients over ranks in place; ``sparse`` holds id() of the parameters with sparse gradients."""
    if world.size == 1:
        return
    dense = [p for p in params if id(p) not in sparse]
    for p in dense:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in dense])
    dist.all_reduce(flat)
    i = 0
    for p in dense:
        n = p.numel()
        p.grad.copy_(flat[i:i + n].view_as(p))
        i += n
    for p in params:
        if id(p) in sparse:
            p.grad = _all_reduce_sparse(p, world)


def _all_reduce_sparse(p: torch.nn.Parameter, world: World) -> torch.Tensor:
    """Sum of every rank's sparse gradient of ``p`` (row ids + rows, padded to the longest rank)."""
    g = p.grad.coalesce() if p.grad is not None else torch.sparse_coo_tensor(
        torch.zeros((1, 0), dtype=torch.long, device=p.device), p.new_zeros((0, *p.shape[1:])), p.shape,
        check_invariants=False).coalesce()
    idx, val = g.indices()[0], g.values()  # (k,), (k, D)
    n = torch.tensor([idx.numel()], device=p.device)
    sizes = [torch.zeros_like(n) for _ in range(world.size)]
    dist.all_gather(sizes, n)
    m = int(max(s.item() for s in sizes))
    pad_idx = torch.zeros(m, dtype=idx.dtype, device=p.device)
    pad_val = p.new_zeros((m, *val.shape[1:]))
    pad_idx[:idx.numel()], pad_val[:idx.numel()] = idx, val
    all_idx = [torch.empty_like(pad_idx) for _ in range(world.size)]
    all_val = [torch.empty_like(pad_val) for _ in range(world.size)]
    dist.all_gather(all_idx, pad_idx)
    dist.all_gather(all_val, pad_val)
    keep_idx = torch.cat([a[:int(s.item())] for a, s in zip(all_idx, sizes)])
    keep_val = torch.cat([a[:int(s.item())] for a, s in zip(all_val, sizes)])
    return torch.sparse_coo_tensor(keep_idx.unsqueeze(0), keep_val, p.shape, check_invariants=False).coalesce()


def all_reduce_sum(values: list[float], world: World, device) -> list[float]:
    """Sum a few scalars over ranks (losses and counts for logging and validation)."""
    if world.size == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def barrier(world: World) -> None:
    if world.size > 1:
        dist.barrier()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
