"""Image features of a list of images: decode in a thread pool one batch ahead of the model, extract, count the
skipped images by reason, binarise; a corpus folder's images; the saved run and its ``.meta.json``."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np

from mmwe.corpus.store import count_records, iter_records
from mmwe.errors import MmweError
from mmwe.fileio import atomic_write
from mmwe.progress import Progress
from mmwe.vision.backends import FeatureExtractor
from mmwe.vision.config import FeatureConfig, Threshold
from mmwe.vision.images import ImageError, load_image, resolve_image_path, to_model_input
from mmwe.vision.registry import REGISTRY
from mmwe.vision.store import save_features

FEATURES = "image features"  # the ``what`` of an extraction's progress(done, total, what)


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
                   progress: Progress | None = None) -> FeatureRun:
    """Features of (key, absolute path or None) images; undecodable ones are counted in ``skipped``.
    ``progress(done, None, "image features")`` after each batch counts the images read, skipped ones too."""
    t0 = time.perf_counter()
    keys: list[str] = []
    chunks: list[np.ndarray] = []
    run = FeatureRun(keys, np.zeros((0, extractor.dim), np.float32))
    done = 0
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
            done += len(batch)
            if progress is not None:
                progress(done, None, FEATURES)
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



_SKIP_MEANING = {"no_image_path": "the record names no image file (a URL-only record, or an image name the build "
                                  "could not find)",
                 "missing_file": "the image file or tar member is gone", "unreadable": "the image cannot be decoded"}


def why_no_images(run: FeatureRun) -> str:
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
    meta = {"model": cfg.model, "backend": cfg.backend, **REGISTRY[cfg.model].meta(),
            "config": {k: v for k, v in asdict(cfg).items() if k not in ("cache_dir",)},
            "corpus": None if corpus_dir is None else str(corpus_dir), **run.summary()}
    if run.thresholds is not None and cfg.threshold == "median":
        meta["thresholds"] = [float(t) for t in run.thresholds]
    with atomic_write(meta_path(out), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1)
    return out
