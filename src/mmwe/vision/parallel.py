"""Several processes: the corpus is cut into chunks of whole batches, chunk j is extracted by process j % N (spawned
here, or one per rank under ``torchrun``) into its own part folder, and the parts are merged in chunk order, so the
batches, and the features, are bit-identical to one process's."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from itertools import islice
from pathlib import Path

import numpy as np

from mmwe.devices import DistributedWorld, distributed_world
from mmwe.errors import MmweError
from mmwe.progress import Progress
from mmwe.vision.backends import FeatureExtractor, make_extractor
from mmwe.vision.config import FeatureConfig
from mmwe.vision.features import FEATURES, FeatureRun, corpus_size, iter_corpus_images
from mmwe.vision.resume import chunk_groups, extract_chunks, partial_identity, read_progress


def part_dir(partial: str | Path, rank: int, world: int) -> Path:
    """The folder of process ``rank`` of ``world``: the partial folder itself for one process."""
    return Path(partial) if world == 1 else Path(partial) / f"part-{rank:03d}-of-{world:03d}"


def chunk_records(cfg: FeatureConfig, chunk: int | None) -> int:
    return max(1, (chunk or 32 * cfg.batch_size) // cfg.batch_size) * cfg.batch_size  # whole batches only


def part_identity(corpus_dir: str | Path, cfg: FeatureConfig, size: int, rank: int, world: int) -> dict:
    device = cfg.run_device()
    return {**partial_identity(corpus_dir, cfg, size, device), "part": rank, "parts": world}


def corpus_items(corpus_dir: str | Path, cfg: FeatureConfig) -> Iterator[tuple[str, str | None]]:
    items = iter_corpus_images(corpus_dir)
    return items if cfg.limit is None else islice(items, cfg.limit)


def extractor_for(cfg: FeatureConfig, rank: int, world: int) -> FeatureExtractor:
    """The extractor of process ``rank``: an equal share of the CPU cores, or its own GPU when there are several."""
    device = cfg.run_device()
    if device == "cuda" and world > 1:
        ranks = distributed_world()  # torchrun's LOCAL_RANK; in a local spawn (--processes) the GPU of rank
        device = (ranks if ranks.size > 1 else DistributedWorld(rank, world, rank)).cuda_device()
    threads = cfg.num_threads or (max(1, len(os.sched_getaffinity(0)) // world) if world > 1 else None)
    return make_extractor(cfg.model, cfg.backend, num_threads=threads, cache_dir=cfg.cache_dir, device=device)


def extract_part(corpus_dir: str | Path, cfg: FeatureConfig, *, rank: int, world: int, partial: str | Path,
                 chunk: int | None = None, extractor: FeatureExtractor | None = None,
                 progress: Progress | None = None) -> list[dict]:
    """Extract the chunks of process ``rank`` of ``world`` (chunks j with j % world == rank) into its part folder;
    chunks finished by an earlier run with the same settings are kept. Returns the part's chunk records."""
    cfg.validate()
    size = chunk_records(cfg, chunk)
    identity = part_identity(corpus_dir, cfg, size, rank, world)
    if extractor is None:
        extractor = extractor_for(cfg, rank, world)
    mine = (g for j, g in enumerate(chunk_groups(corpus_items(corpus_dir, cfg), size)) if j % world == rank)
    return extract_chunks(mine, extractor, cfg, part_dir(partial, rank, world), identity, progress)


def _part_main(corpus_dir: str, cfg: FeatureConfig, rank: int, world: int, partial: str, chunk: int | None,
               extractor: FeatureExtractor | None) -> int:
    """What each worker process of `extract_corpus` runs; returns its number of chunks."""
    return len(extract_part(corpus_dir, cfg, rank=rank, world=world, partial=partial, chunk=chunk,
                            extractor=extractor))


def parts_state(corpus_dir: str | Path, cfg: FeatureConfig, world: int, partial: str | Path,
                 size: int) -> tuple[list[list[dict] | None], int]:
    """(finished chunks of each part, or None where it has none yet; chunks in all)."""
    records = corpus_size(corpus_dir) if cfg.limit is None else min(corpus_size(corpus_dir), cfg.limit)
    return ([read_progress(part_dir(partial, r, world), part_identity(corpus_dir, cfg, size, r, world))
             for r in range(world)], -(-records // size))


def _records_done(parts: list[list[dict] | None]) -> int:
    return sum(c["records"] for p in parts for c in (p or []))


def run_in_processes(corpus_dir: str | Path, cfg: FeatureConfig, partial: str | Path, chunk: int | None,
                      extractor: FeatureExtractor | None, progress: Progress | None) -> None:
    """``cfg.processes`` spawned processes, one part each; progress is read from their part folders."""
    world, size = cfg.processes, chunk_records(cfg, chunk)
    reported = 0
    with ProcessPoolExecutor(world, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_part_main, str(corpus_dir), cfg, r, world, str(partial), chunk, extractor)
                   for r in range(world)]
        pending = futures
        while pending:
            _, pending = wait(pending, timeout=0.5)
            if progress is not None:
                now = _records_done(parts_state(corpus_dir, cfg, world, partial, size)[0])
                if now > reported:
                    progress(now, None, FEATURES)
                    reported = now
        for f in futures:
            f.result()  # a worker's MmweError is raised here


def wait_for_parts(corpus_dir: str | Path, cfg: FeatureConfig, world: int, partial: str | Path, size: int,
                    poll: float = 1.0) -> None:
    """Rank 0 under torchrun: wait until every part is finished (torchrun stops all ranks if one fails)."""
    while True:
        parts, n_chunks = parts_state(corpus_dir, cfg, world, partial, size)
        if all(len(p or []) == len(range(r, n_chunks, world)) for r, p in enumerate(parts)):
            return
        time.sleep(poll)


def merge_parts(corpus_dir: str | Path, cfg: FeatureConfig, *, world: int, partial: str | Path,
                chunk: int | None = None) -> FeatureRun:
    """The finished parts of ``world`` processes as one run, rows in corpus order (chunk j from part j % world)."""
    size = chunk_records(cfg, chunk)
    parts, n_chunks = parts_state(corpus_dir, cfg, world, partial, size)
    for r, p in enumerate(parts):
        want = len(range(r, n_chunks, world))
        if len(p or []) != want:
            raise MmweError(f"expected {want} finished chunks in part {r + 1} of {world}, got {len(p or [])}; "
                            "fix: run the same command again (finished chunks are kept)",
                            path=part_dir(partial, r, world))
    ordered = [(part_dir(partial, j % world, world), parts[j % world][j // world]) for j in range(n_chunks)]
    dim = next((c.get("dim", 0) for _, c in ordered), 0)
    run = FeatureRun([k for _, c in ordered for k in c["keys"]], np.zeros((0, dim), np.float32))
    mats = [np.load(folder / c["file"], allow_pickle=False) for folder, c in ordered]
    if mats:
        run.matrix = np.concatenate(mats).astype(np.float32, copy=False)
    for _, c in ordered:
        run.skipped.update(c["skipped"])
        run.examples.extend(tuple(e) for e in c["examples"])
    run.examples = run.examples[:5]
    run.seconds = max((sum(c["seconds"] for c in p or []) for p in parts), default=0.0)  # the slowest part
    return run

