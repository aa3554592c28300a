"""Resumable extraction: finished chunks of whole batches are saved, with what made them, in a partial folder
beside the output; a run started again with the same settings skips them (and gives the same features)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np

from mmwe.fileio import atomic_path, atomic_write
from mmwe.progress import Progress
from mmwe.progress import part as progress_part
from mmwe.vision.backends import FeatureExtractor
from mmwe.vision.config import FeatureConfig
from mmwe.vision.features import FEATURES, corpus_size, extract_images


def partial_dir(path: str | Path) -> Path:
    """Where an interrupted extraction into ``path`` keeps its finished chunks: ``.NAME.partial/`` beside it."""
    p = Path(path)
    return p.with_name(f".{p.name}.partial")


def partial_identity(corpus_dir: str | Path, cfg: FeatureConfig, chunk: int, device: str) -> dict:
    """What must not change for finished chunks to be reused (the settings that change the features)."""
    return {"corpus": str(Path(corpus_dir).resolve()), "records": corpus_size(corpus_dir), "model": cfg.model,
            "backend": cfg.backend, "device": device, "max_pixels": cfg.max_pixels, "resize": cfg.resize,
            "batch_size": cfg.batch_size, "limit": cfg.limit, "chunk": chunk}


def read_progress(folder: Path, identity: dict) -> list[dict] | None:
    """The finished chunks recorded in ``folder`` when it was made with ``identity``, else None (nothing reset)."""
    try:
        saved = json.loads((folder / "progress.json").read_text(encoding="utf-8"))
        if saved.get("identity") == identity and all((folder / c["file"]).is_file() for c in saved["chunks"]):
            return saved["chunks"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no progress file yet, or a damaged one
    return None


def open_partial(folder: Path, identity: dict) -> list[dict]:
    """The finished chunks recorded in ``folder`` (empty, and the folder reset, when it was made otherwise)."""
    chunks = read_progress(folder, identity)
    if chunks is not None:
        return chunks
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return []


def chunk_groups(items: Iterable[tuple[str, str | None]], size: int) -> Iterator[list[tuple[str, str | None]]]:
    """Consecutive chunks of ``size`` items (the last one shorter)."""
    it = iter(items)
    while group := list(islice(it, size)):
        yield group


def extract_chunks(groups: Iterator[list[tuple[str, str | None]]], extractor: FeatureExtractor, cfg: FeatureConfig,
                    folder: Path, identity: dict, progress: Progress | None) -> list[dict]:
    """extract_images on each chunk of ``groups`` not yet finished in ``folder``, each chunk saved before the next
    starts; returns the chunk records. Chunks hold whole batches, so the batches (and the features) are the same
    as in one uninterrupted pass."""
    chunks = open_partial(folder, identity)
    done = sum(c["records"] for c in chunks)
    if progress is not None and done:
        progress(done, None, FEATURES)
    for group in islice(groups, len(chunks), None):
        part = extract_images(group, extractor, cfg, progress=progress_part(progress, start=done))
        name = f"chunk-{len(chunks):05d}.npy"
        with atomic_path(folder / name) as tmp:
            np.save(tmp, part.matrix, allow_pickle=False)
        chunks.append({"file": name, "records": len(group), "keys": part.keys, "skipped": dict(part.skipped),
                       "examples": part.examples, "seconds": part.seconds, "dim": extractor.dim})
        with atomic_write(folder / "progress.json", "w", encoding="utf-8") as fh:
            json.dump({"identity": identity, "chunks": chunks}, fh)
        done += len(group)
    return chunks

