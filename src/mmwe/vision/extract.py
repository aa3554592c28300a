"""Image features for a whole corpus: read the image keys and paths, decode, batch, extract, binarise, store.

Skipped images (missing, corrupt, truncated, too many pixels, bad SVG, no path) are counted by reason and left
out of the matrix; the output keys say which images have features. Images are decoded in a small thread pool one
batch ahead of the model, so decoding overlaps inference.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

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

    def validate(self) -> FeatureConfig:
        if self.model not in MODELS:
            raise MmweError(f"expected --model in {list(MODELS)}, got {self.model!r}")
        if self.backend not in BACKENDS:
            raise MmweError(f"expected --backend in {list(BACKENDS)}, got {self.backend!r}")
        if self.threshold not in ("zero", "median"):
            raise MmweError(f"expected --threshold zero or median, got {self.threshold!r}")
        for name in ("batch_size", "max_pixels", "workers"):
            if getattr(self, name) < 1:
                raise MmweError(f"expected --{name.replace('_', '-')} >= 1, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 0:
            raise MmweError(f"expected --limit >= 0, got {self.limit}")
        return self


def make_extractor(model: str = "efficientnet-lite0", backend: Backend = "onnx", *, num_threads: int | None = None,
                   cache_dir: str | None = None) -> FeatureExtractor:
    """The registered extractor for (model, backend)."""
    if model not in MODELS:
        raise MmweError(f"expected a model in {list(MODELS)}, got {model!r}")
    if backend == "torch":
        return (mobilenet.TorchMobileNet if model == "mobilenetv2" else TorchExtractor)(num_threads=num_threads)
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


def _partial_identity(corpus_dir: str | Path, cfg: FeatureConfig, chunk: int) -> dict:
    """What must not change for finished chunks to be reused (the settings that change the features)."""
    return {"corpus": str(Path(corpus_dir).resolve()), "records": corpus_size(corpus_dir), "model": cfg.model,
            "backend": cfg.backend, "max_pixels": cfg.max_pixels, "resize": cfg.resize, "batch_size": cfg.batch_size,
            "limit": cfg.limit, "chunk": chunk}


def _open_partial(folder: Path, identity: dict) -> list[dict]:
    """The finished chunks recorded in ``folder`` (empty, and the folder reset, when it was made otherwise)."""
    state = folder / "progress.json"
    if state.is_file():
        try:
            saved = json.loads(state.read_text(encoding="utf-8"))
            if saved.get("identity") == identity and all((folder / c["file"]).is_file() for c in saved["chunks"]):
                return saved["chunks"]
        except (ValueError, KeyError, TypeError):
            pass  # a damaged progress file: start over
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return []


def _extract_resumable(items: Iterator[tuple[str, str | None]], extractor: FeatureExtractor, cfg: FeatureConfig,
                       folder: Path, identity: dict, progress: Callable[[int], None] | None) -> FeatureRun:
    """extract_images in chunks of ``identity["chunk"]`` records, each saved in ``folder`` before the next starts.

    Chunks hold whole batches, so the batches (and the features) are the same as in one uninterrupted pass.
    """
    chunks = _open_partial(folder, identity)
    done = sum(c["records"] for c in chunks)
    if progress is not None and done:
        progress(done)
    items = islice(items, done, None)
    while group := list(islice(items, identity["chunk"])):
        part = extract_images(group, extractor, cfg, progress=progress)
        name = f"chunk-{len(chunks):05d}.npy"
        with atomic_path(folder / name) as tmp:
            np.save(tmp, part.matrix, allow_pickle=False)
        chunks.append({"file": name, "records": len(group), "keys": part.keys, "skipped": dict(part.skipped),
                       "examples": part.examples, "seconds": part.seconds})
        with atomic_write(folder / "progress.json", "w", encoding="utf-8") as fh:
            json.dump({"identity": identity, "chunks": chunks}, fh)
    run = FeatureRun([k for c in chunks for k in c["keys"]], np.zeros((0, extractor.dim), np.float32))
    mats = [np.load(folder / c["file"], allow_pickle=False) for c in chunks]
    if mats:
        run.matrix = np.concatenate(mats).astype(np.float32, copy=False)
    for c in chunks:
        run.skipped.update(c["skipped"])
        run.examples.extend(tuple(e) for e in c["examples"])
        run.seconds += c["seconds"]
    run.examples = run.examples[:5]
    return run


def extract_corpus(corpus_dir: str | Path, cfg: FeatureConfig, *, extractor: FeatureExtractor | None = None,
                   progress: Callable[[int], None] | None = None, partial: str | Path | None = None,
                   chunk: int | None = None) -> FeatureRun:
    """Features (binarised when ``cfg.binarize``) of every image of a corpus folder.

    With ``partial`` (a folder, see `partial_dir`), finished chunks of ``chunk`` records (default: 32 batches)
    are kept there, and a run started again with the same settings resumes after the last finished chunk.
    The caller removes the folder once the output is written.
    """
    cfg.validate()
    items = iter_corpus_images(corpus_dir)
    if cfg.limit is not None:
        items = islice(items, cfg.limit)
    if extractor is None:
        extractor = make_extractor(cfg.model, cfg.backend, num_threads=cfg.num_threads, cache_dir=cfg.cache_dir)
    if partial is None:
        run = extract_images(items, extractor, cfg, progress=progress)
    else:
        size = max(1, (chunk or 32 * cfg.batch_size) // cfg.batch_size) * cfg.batch_size  # whole batches only
        identity = _partial_identity(corpus_dir, cfg, size)
        run = _extract_resumable(items, extractor, cfg, Path(partial), identity, progress)
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
