"""Image features for a whole corpus: read the image keys and paths, decode, batch, extract, binarise, store.

Skipped images (missing, corrupt, truncated, too many pixels, bad SVG, no path) are counted by reason and left
out of the matrix; the output keys say which images have features. Images are decoded in a small thread pool one
batch ahead of the model, so decoding overlaps inference.

Several processes (``FeatureConfig.processes``, or one per rank under ``torchrun``) split the corpus into chunks
of whole batches: chunk j goes to process j % N, which keeps its finished chunks in its own part folder; the parts
are merged in chunk order, so the batches, and the features, are bit-identical to one process's.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from mmwe import devices
from mmwe.corpus.store import count_records, iter_records
from mmwe.errors import MmweError
from mmwe.fileio import atomic_path, atomic_write
from mmwe.vision import mobilenet
from mmwe.vision.images import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    ResizeMode,
    load_image,
    resolve_image_path,
    to_model_input,
)
from mmwe.vision.models import NORMALISATION, TorchExtractor, default_weights_path, weights_digest
from mmwe.vision.onnx_backend import OnnxExtractor
from mmwe.vision.store import save_features

Backend = Literal["torch", "onnx"]
Threshold = Literal["zero", "median"]
Device = Literal["auto", "cpu", "cuda"]
MODELS = ("efficientnet-lite0", "mobilenetv2")
BACKENDS: tuple[Backend, ...] = ("onnx", "torch")


class FeatureExtractor(Protocol):
    """What every backend offers: (B, S, S, 3) pixels in 0..255 -> (B, dim) float32."""

    name: str
    backend: str
    dim: int
    image_size: int

    def __call__(self, images: np.ndarray) -> np.ndarray: ...

    def logits(self, images: np.ndarray) -> np.ndarray: ...


@dataclass
class FeatureConfig:
    """Settings of one feature-extraction run."""

    model: str = "efficientnet-lite0"  # one of MODELS
    backend: Backend = "onnx"  # "onnx" (ONNX Runtime, fast) or "torch" (eager)
    binarize: bool = False  # store 0/1 features (Mao et al.) instead of the pooled activations
    threshold: Threshold = "zero"  # binarisation: "zero" (x > 0, Mao et al.) or "median" (x > per-dim median)
    batch_size: int = 32  # images per forward pass
    limit: int | None = None  # only the first N corpus records
    max_pixels: int = DEFAULT_MAX_PIXELS  # refuse larger raster images (checked before decoding)
    resize: ResizeMode = "center-crop"  # how a non-square raster image becomes 224 x 224
    num_threads: int | None = None  # backend intra-op threads; None: the backend's default
    workers: int = 2  # image-decoding threads
    cache_dir: str | None = None  # where the ONNX export is cached; None: ~/.cache/mmwe
    processes: int = 1  # extraction processes, each a disjoint set of chunks (under torchrun: one per rank)
    device: Device = "auto"  # torch backend: cuda, cpu, or auto (cuda when present); onnx runs on the CPU

    def validate(self) -> FeatureConfig:
        if self.model not in MODELS:
            raise MmweError(f"expected --model in {list(MODELS)}, got {self.model!r}")
        if self.backend not in BACKENDS:
            raise MmweError(f"expected --backend in {list(BACKENDS)}, got {self.backend!r}")
        if self.threshold not in ("zero", "median"):
            raise MmweError(f"expected --threshold zero or median, got {self.threshold!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise MmweError(f"expected --device auto, cpu or cuda, got {self.device!r}")
        for name in ("batch_size", "max_pixels", "workers", "processes"):
            if getattr(self, name) < 1:
                raise MmweError(f"expected --{name.replace('_', '-')} >= 1, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 0:
            raise MmweError(f"expected --limit >= 0, got {self.limit}")
        return self


def resolve_device(device: str = "auto", backend: str = "torch") -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU (torch backend only), else ``cpu``; ``cuda`` without one is an
    error, as is ``cuda`` with the ONNX backend (the ONNX Runtime build installed with mmwe is the CPU one)."""
    if backend != "torch":
        if device == "cuda":
            raise MmweError(f"--device cuda: expected --backend torch, got --backend {backend} (ONNX Runtime runs "
                            "on the CPU here); fix: add --backend torch")
        device = "cpu" if device == "auto" else device  # an unknown value still fails there; torch never imported
    return devices.resolve_device(device)


class TorchOnDevice:
    """A torch extractor whose module runs on ``device`` (a GPU): pixels go over as uint8, features come back."""

    def __init__(self, inner: FeatureExtractor, device: str) -> None:
        import torch

        self.inner, self.device = inner, torch.device(device)
        self.name, self.backend, self.dim, self.image_size = inner.name, inner.backend, inner.dim, inner.image_size
        self.module = inner.module.to(self.device)

    def _run(self, images: np.ndarray):
        import torch

        if images.ndim != 4 or images.shape[1:] != (self.image_size, self.image_size, 3):
            raise ValueError(f"expected (B, {self.image_size}, {self.image_size}, 3) pixels, got {images.shape}")
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device).float()  # (B, S, S, 3)
            out = self.module(x)
        return out if isinstance(out, tuple) else (out,)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self._run(images)[0].float().cpu().numpy()  # (B, D)

    def logits(self, images: np.ndarray) -> np.ndarray:
        out = self._run(images)
        if len(out) < 2:
            return self.inner.logits(images)  # raises: this model has no classifier
        return out[1].float().cpu().numpy()  # (B, 1000)


def make_extractor(model: str = "efficientnet-lite0", backend: Backend = "onnx", *, num_threads: int | None = None,
                   cache_dir: str | None = None, device: str = "cpu") -> FeatureExtractor:
    """The registered extractor for (model, backend), on ``device`` (``cpu``, ``cuda``, ``cuda:1``; torch only)."""
    if model not in MODELS:
        raise MmweError(f"expected a model in {list(MODELS)}, got {model!r}")
    if device != "cpu" and backend != "torch":
        raise MmweError(f"expected --backend torch to run on {device}, got --backend {backend}")
    if backend == "torch":
        ext = (mobilenet.TorchMobileNet if model == "mobilenetv2" else TorchExtractor)(num_threads=num_threads)
        return ext if device == "cpu" else TorchOnDevice(ext, device)
    if backend == "onnx":
        onnx_cls = mobilenet.OnnxMobileNet if model == "mobilenetv2" else OnnxExtractor
        return onnx_cls(num_threads=num_threads, cache_dir=cache_dir)
    raise MmweError(f"expected a backend in {list(BACKENDS)}, got {backend!r}")


def binarize(features: np.ndarray, threshold: Threshold | np.ndarray = "zero") -> tuple[np.ndarray, np.ndarray]:
    """(N, D) features -> ((N, D) float32 0/1, (D,) thresholds used): 1 where a value is > its threshold.

    ``"zero"`` is Mao et al.'s rule (1 where the activation is positive). EfficientNet-Lite0's pooled features
    come after ReLU6, so they are >= 0, but not nearly all are > 0: on the 4495 OpenMoji SVGs 48.5% of the
    entries are ones (per image 24%-66%; every dimension is 0 for some image, 3 dimensions never are), so the
    zero rule stays informative. ``"median"`` (x > the per-dimension median over these rows) is offered for
    corpora where nearly all entries come out 1; on OpenMoji it gives 38.2% ones, since 657 of the 1280
    dimensions have median 0. Pass a (D,) array to reuse thresholds (e.g. a train split's) on other rows.
    """
    x = np.asarray(features, dtype=np.float32)  # (N, D)
    if isinstance(threshold, str):
        if threshold == "zero":
            t = np.zeros(x.shape[1], dtype=np.float32)
        elif threshold == "median":
            t = np.median(x, axis=0).astype(np.float32) if len(x) else np.zeros(x.shape[1], np.float32)
        else:
            raise MmweError(f"expected threshold 'zero' or 'median', got {threshold!r}")
    else:
        t = np.asarray(threshold, dtype=np.float32).reshape(-1)
        if t.shape != (x.shape[1],):
            raise MmweError(f"expected {x.shape[1]} thresholds, got {t.shape[0]}")
    return (x > t).astype(np.float32), t


@dataclass
class FeatureRun:
    """The result of extracting features for a list of images."""

    keys: list[str]  # image keys with features, in input order
    matrix: np.ndarray  # (N, D) float32 (0/1 when binarised)
    skipped: Counter = field(default_factory=Counter)  # reason -> images left out
    examples: list[tuple[str, str]] = field(default_factory=list)  # first few (key, message) of skipped images
    seconds: float = 0.0  # wall time of decoding + inference
    thresholds: np.ndarray | None = None  # (D,) binarisation thresholds, when binarised

    def summary(self) -> dict:
        """Plain-dict report (for --json and the .meta.json sidecar)."""
        out = {"images": len(self.keys), "dim": int(self.matrix.shape[1]) if self.matrix.ndim == 2 else 0,
               "skipped": dict(sorted(self.skipped.items())), "skipped_total": int(sum(self.skipped.values())),
               "seconds": round(self.seconds, 3),
               "images_per_second": round(len(self.keys) / self.seconds, 2) if self.seconds > 0 else None,
               "fraction_positive": float((self.matrix > 0).mean()) if self.matrix.size else None,
               "skipped_examples": [{"key": k, "error": m} for k, m in self.examples]}
        return out


def _load_one(key: str, path: str | None, cfg: FeatureConfig, size: int) -> np.ndarray | ImageError:
    if path is None:
        return ImageError("no_image_path", "record has no image_path (URL-only source); not downloaded")
    try:
        return to_model_input(load_image(path, max_pixels=cfg.max_pixels, svg_size=size), size=size, resize=cfg.resize)
    except ImageError as exc:
        return exc


def _decoded_batches(items: Iterable[tuple[str, str | None]], cfg: FeatureConfig, size: int,
                     pool: ThreadPoolExecutor) -> Iterator[list[tuple[str, np.ndarray | ImageError]]]:
    """Batches of (key, pixels or error), the next batch decoding in ``pool`` while the caller runs the model."""
    it = iter(items)

    def submit() -> list[tuple[str, Future]]:
        return [(k, pool.submit(_load_one, k, p, cfg, size)) for k, p in islice(it, cfg.batch_size)]

    pending = submit()
    while pending:
        nxt = submit()
        yield [(k, f.result()) for k, f in pending]
        pending = nxt


def extract_images(items: Iterable[tuple[str, str | None]], extractor: FeatureExtractor, cfg: FeatureConfig, *,
                   progress: Callable[[int], None] | None = None) -> FeatureRun:
    """Features of (key, absolute path or None) images; undecodable ones are counted in ``skipped``."""
    t0 = time.perf_counter()
    keys: list[str] = []
    chunks: list[np.ndarray] = []
    run = FeatureRun(keys, np.zeros((0, extractor.dim), np.float32))
    with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
        for batch in _decoded_batches(items, cfg, extractor.image_size, pool):
            good = [(k, x) for k, x in batch if not isinstance(x, ImageError)]
            for k, x in batch:
                if isinstance(x, ImageError):
                    run.skipped[x.reason] += 1
                    if len(run.examples) < 5:
                        run.examples.append((k, str(x)))
            if good:
                pixels = np.stack([x for _, x in good])  # (B, 224, 224, 3) uint8
                chunks.append(extractor(pixels))  # (B, D) float32
                keys.extend(k for k, _ in good)
            if progress is not None:
                progress(len(batch))
    if chunks:
        run.matrix = np.concatenate(chunks).astype(np.float32, copy=False)
    run.seconds = time.perf_counter() - t0
    return run


# -- corpus directories ----------------------------------------------------------------------------------

def corpus_size(corpus_dir: str | Path) -> int:
    """Number of records, from the manifest (or the Parquet footers); no data read."""
    return int(count_records(corpus_dir))


def iter_corpus_images(corpus_dir: str | Path) -> Iterator[tuple[str, str | None]]:
    """(image key, absolute image path or None) of every corpus record, in corpus order.

    Relative paths are taken relative to the corpus folder.
    """
    base = Path(corpus_dir)
    for r in iter_records(base):
        yield r.image, (resolve_image_path(r.image_path, base) if r.image_path else None)


def default_output(corpus_dir: str | Path, cfg: FeatureConfig) -> Path:
    """CORPUS/features/<model>[-bin].npy (the agreed location)."""
    return Path(corpus_dir) / "features" / f"{cfg.model}{'-bin' if cfg.binarize else ''}.npy"


def partial_dir(path: str | Path) -> Path:
    """Where an interrupted extraction into ``path`` keeps its finished chunks: ``.NAME.partial/`` beside it."""
    p = Path(path)
    return p.with_name(f".{p.name}.partial")


def _partial_identity(corpus_dir: str | Path, cfg: FeatureConfig, chunk: int, device: str) -> dict:
    """What must not change for finished chunks to be reused (the settings that change the features)."""
    return {"corpus": str(Path(corpus_dir).resolve()), "records": corpus_size(corpus_dir), "model": cfg.model,
            "backend": cfg.backend, "device": device, "max_pixels": cfg.max_pixels, "resize": cfg.resize,
            "batch_size": cfg.batch_size, "limit": cfg.limit, "chunk": chunk}


def _read_progress(folder: Path, identity: dict) -> list[dict] | None:
    """The finished chunks recorded in ``folder`` when it was made with ``identity``, else None (nothing reset)."""
    try:
        saved = json.loads((folder / "progress.json").read_text(encoding="utf-8"))
        if saved.get("identity") == identity and all((folder / c["file"]).is_file() for c in saved["chunks"]):
            return saved["chunks"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no progress file yet, or a damaged one
    return None


def _open_partial(folder: Path, identity: dict) -> list[dict]:
    """The finished chunks recorded in ``folder`` (empty, and the folder reset, when it was made otherwise)."""
    chunks = _read_progress(folder, identity)
    if chunks is not None:
        return chunks
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return []


def _groups(items: Iterable[tuple[str, str | None]], size: int) -> Iterator[list[tuple[str, str | None]]]:
    """Consecutive chunks of ``size`` items (the last one shorter)."""
    it = iter(items)
    while group := list(islice(it, size)):
        yield group


def _extract_chunks(groups: Iterator[list[tuple[str, str | None]]], extractor: FeatureExtractor, cfg: FeatureConfig,
                    folder: Path, identity: dict, progress: Callable[[int], None] | None) -> list[dict]:
    """extract_images on each chunk of ``groups`` not yet finished in ``folder``, each chunk saved before the next
    starts; returns the chunk records. Chunks hold whole batches, so the batches (and the features) are the same
    as in one uninterrupted pass."""
    chunks = _open_partial(folder, identity)
    done = sum(c["records"] for c in chunks)
    if progress is not None and done:
        progress(done)
    for group in islice(groups, len(chunks), None):
        part = extract_images(group, extractor, cfg, progress=progress)
        name = f"chunk-{len(chunks):05d}.npy"
        with atomic_path(folder / name) as tmp:
            np.save(tmp, part.matrix, allow_pickle=False)
        chunks.append({"file": name, "records": len(group), "keys": part.keys, "skipped": dict(part.skipped),
                       "examples": part.examples, "seconds": part.seconds, "dim": extractor.dim})
        with atomic_write(folder / "progress.json", "w", encoding="utf-8") as fh:
            json.dump({"identity": identity, "chunks": chunks}, fh)
    return chunks


# -- several processes: chunk j is extracted by process j % N into its own part folder ---------------------------

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


def part_dir(partial: str | Path, rank: int, world: int) -> Path:
    """The folder of process ``rank`` of ``world``: the partial folder itself for one process."""
    return Path(partial) if world == 1 else Path(partial) / f"part-{rank:03d}-of-{world:03d}"


def _chunk_records(cfg: FeatureConfig, chunk: int | None) -> int:
    return max(1, (chunk or 32 * cfg.batch_size) // cfg.batch_size) * cfg.batch_size  # whole batches only


def _part_identity(corpus_dir: str | Path, cfg: FeatureConfig, size: int, rank: int, world: int) -> dict:
    device = resolve_device(cfg.device, cfg.backend)
    return {**_partial_identity(corpus_dir, cfg, size, device), "part": rank, "parts": world}


def _corpus_items(corpus_dir: str | Path, cfg: FeatureConfig) -> Iterator[tuple[str, str | None]]:
    items = iter_corpus_images(corpus_dir)
    return items if cfg.limit is None else islice(items, cfg.limit)


def _extractor_for(cfg: FeatureConfig, rank: int, world: int) -> FeatureExtractor:
    """The extractor of process ``rank``: an equal share of the CPU cores, or its own GPU when there are several."""
    device = resolve_device(cfg.device, cfg.backend)
    if device == "cuda" and world > 1:
        import torch

        device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank)) % torch.cuda.device_count()}"
    threads = cfg.num_threads or (max(1, len(os.sched_getaffinity(0)) // world) if world > 1 else None)
    return make_extractor(cfg.model, cfg.backend, num_threads=threads, cache_dir=cfg.cache_dir, device=device)


def extract_part(corpus_dir: str | Path, cfg: FeatureConfig, *, rank: int, world: int, partial: str | Path,
                 chunk: int | None = None, extractor: FeatureExtractor | None = None,
                 progress: Callable[[int], None] | None = None) -> list[dict]:
    """Extract the chunks of process ``rank`` of ``world`` (chunks j with j % world == rank) into its part folder;
    chunks finished by an earlier run with the same settings are kept. Returns the part's chunk records."""
    cfg.validate()
    size = _chunk_records(cfg, chunk)
    identity = _part_identity(corpus_dir, cfg, size, rank, world)
    if extractor is None:
        extractor = _extractor_for(cfg, rank, world)
    mine = (g for j, g in enumerate(_groups(_corpus_items(corpus_dir, cfg), size)) if j % world == rank)
    return _extract_chunks(mine, extractor, cfg, part_dir(partial, rank, world), identity, progress)


def _part_main(corpus_dir: str, cfg: FeatureConfig, rank: int, world: int, partial: str, chunk: int | None,
               extractor: FeatureExtractor | None) -> int:
    """What each worker process of `extract_corpus` runs; returns its number of chunks."""
    return len(extract_part(corpus_dir, cfg, rank=rank, world=world, partial=partial, chunk=chunk,
                            extractor=extractor))


def _parts_state(corpus_dir: str | Path, cfg: FeatureConfig, world: int, partial: str | Path,
                 size: int) -> tuple[list[list[dict] | None], int]:
    """(finished chunks of each part, or None where it has none yet; chunks in all)."""
    records = corpus_size(corpus_dir) if cfg.limit is None else min(corpus_size(corpus_dir), cfg.limit)
    return ([_read_progress(part_dir(partial, r, world), _part_identity(corpus_dir, cfg, size, r, world))
             for r in range(world)], -(-records // size))


def _records_done(parts: list[list[dict] | None]) -> int:
    return sum(c["records"] for p in parts for c in (p or []))


def _run_in_processes(corpus_dir: str | Path, cfg: FeatureConfig, partial: str | Path, chunk: int | None,
                      extractor: FeatureExtractor | None, progress: Callable[[int], None] | None) -> None:
    """``cfg.processes`` spawned processes, one part each; progress is read from their part folders."""
    world, size = cfg.processes, _chunk_records(cfg, chunk)
    reported = 0
    with ProcessPoolExecutor(world, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_part_main, str(corpus_dir), cfg, r, world, str(partial), chunk, extractor)
                   for r in range(world)]
        pending = futures
        while pending:
            _, pending = wait(pending, timeout=0.5)
            if progress is not None:
                now = _records_done(_parts_state(corpus_dir, cfg, world, partial, size)[0])
                if now > reported:
                    progress(now - reported)
                    reported = now
        for f in futures:
            f.result()  # a worker's MmweError is raised here


def _wait_for_parts(corpus_dir: str | Path, cfg: FeatureConfig, world: int, partial: str | Path, size: int,
                    poll: float = 1.0) -> None:
    """Rank 0 under torchrun: wait until every part is finished (torchrun stops all ranks if one fails)."""
    while True:
        parts, n_chunks = _parts_state(corpus_dir, cfg, world, partial, size)
        if all(len(p or []) == len(range(r, n_chunks, world)) for r, p in enumerate(parts)):
            return
        time.sleep(poll)


def merge_parts(corpus_dir: str | Path, cfg: FeatureConfig, *, world: int, partial: str | Path,
                chunk: int | None = None) -> FeatureRun:
    """The finished parts of ``world`` processes as one run, rows in corpus order (chunk j from part j % world)."""
    size = _chunk_records(cfg, chunk)
    parts, n_chunks = _parts_state(corpus_dir, cfg, world, partial, size)
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


def extract_corpus(corpus_dir: str | Path, cfg: FeatureConfig, *, extractor: FeatureExtractor | None = None,
                   progress: Callable[[int], None] | None = None, partial: str | Path | None = None,
                   chunk: int | None = None) -> FeatureRun | None:
    """Features (binarised when ``cfg.binarize``) of every image of a corpus folder.

    With ``partial`` (a folder, see `partial_dir`), finished chunks of ``chunk`` records (default: 32 batches)
    are kept there, and a run started again with the same settings resumes after the last finished chunk.
    The caller removes the folder once the output is written. ``cfg.processes`` > 1 (or torchrun's RANK and
    WORLD_SIZE) splits the chunks between processes (see the module doc); under torchrun every rank extracts
    its share, rank 0 waits for the others and returns the merged run, the other ranks return None.
    """
    cfg.validate()
    ranks = torchrun_rank()
    if ranks is not None and cfg.processes > 1:
        raise MmweError(f"expected either torchrun or --processes, got both (WORLD_SIZE={ranks[1]}, --processes "
                        f"{cfg.processes}); fix: drop --processes under torchrun")
    rank, world = ranks or (0, cfg.processes)
    if partial is None:
        if world > 1:
            raise MmweError("expected a partial folder for several processes (their parts are kept there), got none")
        extractor = extractor or _extractor_for(cfg, 0, 1)
        run = extract_images(_corpus_items(corpus_dir, cfg), extractor, cfg, progress=progress)
    else:
        if ranks is None and world > 1:
            _run_in_processes(corpus_dir, cfg, partial, chunk, extractor, progress)
        else:
            extract_part(corpus_dir, cfg, rank=rank, world=world, partial=partial, chunk=chunk, extractor=extractor,
                         progress=progress)
            if rank != 0:
                return None
            if world > 1:
                _wait_for_parts(corpus_dir, cfg, world, partial, _chunk_records(cfg, chunk))
        run = merge_parts(corpus_dir, cfg, world=world, partial=partial, chunk=chunk)
    if not run.keys and run.skipped:
        if partial is not None:  # its chunks hold nothing; a rerun after fixing the images must read them again
            shutil.rmtree(partial, ignore_errors=True)
        raise MmweError(_why_no_images(run), path=corpus_dir)
    if cfg.binarize:
        run.matrix, run.thresholds = binarize(run.matrix, cfg.threshold)
    return run


_SKIP_MEANING = {"no_image_path": "the record names no image file (a URL-only record, or an image name the build "
                                  "could not find)",
                 "missing_file": "the image file or tar member is gone", "unreadable": "the image cannot be decoded"}


def _why_no_images(run: FeatureRun) -> str:
    """Why a run gave no image at all: the skips by reason, the first example, and the fix for the commonest."""
    total = sum(run.skipped.values())
    counts = ", ".join(f"{r}={n}" + (f" ({_SKIP_MEANING[r]})" if r in _SKIP_MEANING else "")
                       for r, n in run.skipped.most_common())
    first = f"; first: {run.examples[0][0]}: {run.examples[0][1]}" if run.examples else ""
    if run.skipped.most_common(1)[0][0] == "no_image_path":
        fix = ("rebuild the corpus with the image files beside the source or under --image-root "
               "(`mmwe corpus build` counts records whose named file is missing); URLs are not downloaded")
    else:
        fix = "put the image files back where `mmwe corpus build` found them, or rebuild the corpus"
    return f"expected at least one image with features, got none of {total} records: {counts}{first}; fix: {fix}"


def meta_path(path: str | Path) -> Path:
    """``x.npy`` / ``x.parquet`` -> ``x.meta.json`` (provenance sidecar)."""
    p = Path(path)
    return p.with_name(p.name[: -len(p.suffix)] + ".meta.json")


def write_run(path: str | Path, run: FeatureRun, cfg: FeatureConfig, *, corpus_dir: str | Path | None = None) -> Path:
    """Save the features (npy + keys, or Parquet) and a ``.meta.json`` with the settings and the tallies."""
    out = Path(path)
    save_features(out, run.keys, run.matrix)
    meta = {"model": cfg.model, "backend": cfg.backend, "normalisation": NORMALISATION,
            "weights_sha256_16": weights_digest(str(default_weights_path())),
            "features": "global average of the last ReLU6 conv layer (before dropout / classifier)",
            **(mobilenet.model_meta() if cfg.model == "mobilenetv2" else {}),
            "config": {k: v for k, v in asdict(cfg).items() if k not in ("cache_dir",)},
            "corpus": None if corpus_dir is None else str(corpus_dir), **run.summary()}
    if run.thresholds is not None and cfg.threshold == "median":
        meta["thresholds"] = [float(t) for t in run.thresholds]
    with atomic_write(meta_path(out), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1)
    return out
