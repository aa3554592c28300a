"""The data of the Mao et al. reproduction: built-in corpora and their EfficientNet-Lite0 features (built once),
the triplets mined from a corpus's test-split annotations, and seeded training subsets for the learning curve."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mmwe.corpus.debian import is_english, package_root, source_of, svg_metadata
from mmwe.corpus.ensure import CorpusSpec, ensure
from mmwe.corpus.openmoji import cldr_annotations
from mmwe.corpus.record import Record
from mmwe.corpus.store import ShardWriter, iter_records, read_manifest
from mmwe.corpus.tokenize import tokenize
from mmwe.datasets.triplets import MineConfig, TripletSet, mine_triplets
from mmwe.errors import MmweError
from mmwe.progress import Progress
from mmwe.vision.extract import FeatureConfig, ensure_features


def prepare_corpus(spec: str | CorpusSpec, work_dir: str | Path, log: Callable[[str], None] = print, *,
                   backend: str = "onnx", progress: Progress | None = None) -> tuple[Path, Path]:
    """The corpus of ``spec`` (`mmwe.corpus.ensure`: built-in names built once in WORK_DIR/corpora/) and its
    EfficientNet-Lite0 features (`ensure_features`: extracted once into CORPUS/features/); both are reused when
    present, so a second run (or the demo after a Mao run) does neither again."""
    def say(message: str) -> None:
        log(f"[mao] {message}")

    corpus = ensure(spec, Path(work_dir) / "corpora", log=say, progress=progress)
    fcfg = FeatureConfig(model="efficientnet-lite0", backend=backend)
    return corpus, ensure_features(corpus, fcfg, progress=progress, log=say)


def _annotations(key: str, image_path: str | None, sentence: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(source, name, keyword phrases) of one image from its source's raw metadata; None when it has none."""
    src = source_of(key) or "openmoji"
    if src == "openmoji":
        ann = cldr_annotations().get(key)
        return None if ann is None else (src, ann[0], tuple(ann[1]))
    if src == "gemojione":
        ann = _gemojione_index().get(key.split(":", 1)[1])
        return None if ann is None else (src, *ann)
    if src == "openclipart" and image_path:
        text = svg_metadata(Path(image_path))
        stored = set(sentence.split())
        title = text.title if text.title and set(tokenize(text.title)) <= stored else ""  # collection titles dropped
        kws = tuple(k for k in text.keywords if tokenize(k) and is_english(k))
        return (src, title, kws) if title and is_english(title) else None
    return (src, sentence, ())  # art4apps, tuxpaint: a name only, no keywords


_GEMOJI: dict = {}


def _gemojione_index() -> dict[str, tuple[str, tuple[str, ...]]]:
    if not _GEMOJI:
        entries = json.loads((package_root("gemojione") / "config" / "index.json").read_text(encoding="utf-8"))
        for e in entries.values():
            if isinstance(e, dict) and isinstance(e.get("unicode"), str) and isinstance(e.get("name"), str):
                _GEMOJI[e["unicode"]] = (e["name"], tuple(k for k in e.get("keywords") or [] if isinstance(k, str)))
    return _GEMOJI


def test_split_triplets(corpus_dir: str | Path, *, seed: int = 0) -> tuple[TripletSet, dict]:
    """Triplets mined (`mine_triplets`, one click per keyword) per source from the name and keywords of the
    corpus's test-split images; (triplets, {source: {"images", "triplets", "note"?}})."""
    rows: dict[str, list] = {}
    images: dict[str, int] = {}
    for r in iter_records(corpus_dir, split="test"):
        ann = _annotations(r.image, r.image_path, r.sentences[0] if r.sentences else "")
        src = (source_of(r.image) or "openmoji") if ann is None else ann[0]
        images[src] = images.get(src, 0) + 1
        if ann is not None and ann[2]:
            rows.setdefault(src, []).extend((ann[1], r.image, kw, 1.0) for kw in ann[2])
    triplets, per_source = [], {}
    for src in sorted(images):
        info = {"images": images[src], "triplets": 0}
        try:
            if not rows.get(src):
                info["note"] = "no keyword annotations (a name only), so no positive phrase"
            else:
                got = mine_triplets(rows[src], MineConfig(seed=seed))
                info["triplets"] = len(got)
                triplets += got
        except MmweError as exc:  # e.g. art4apps: a name and no keywords, so no positive
            info["note"] = exc.message.split(";")[0]
        per_source[src] = info
    if not triplets:
        raise MmweError("expected triplets from the test-split images' keywords, got none from any source; use a "
                        "corpus with keyword annotations (openmoji, gemojione, openclipart)", path=corpus_dir)
    return TripletSet("test-split-triplets", triplets), per_source


def subset_corpus(corpus_dir: str | Path, fraction: float, seed: int, out: str | Path) -> Path:
    """A corpus folder with a seeded random ``fraction`` of the training images (val and test kept whole)."""
    out = Path(out)
    if (out / "manifest.json").is_file():
        return out
    recs = list(iter_records(corpus_dir))
    train_idx = [i for i, r in enumerate(recs) if r.split in (None, "train")]
    rng = np.random.default_rng([seed, int(round(fraction * 1e6))])
    keep = set(rng.permutation(len(train_idx))[:max(2, int(round(fraction * len(train_idx))))].tolist())
    kept_train = {train_idx[j] for j in keep}
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    writer = ShardWriter(tmp / "shards")
    for i, r in enumerate(recs):
        if r.split not in (None, "train") or i in kept_train:
            writer.add(Record(r.image, r.image_path, r.sentences, r.split))
    man = read_manifest(corpus_dir) | {"shards": writer.close(), "subset": {"of": str(corpus_dir),
                                                                            "train_fraction": fraction, "seed": seed,
                                                                            "train_images": len(kept_train)}}
    (tmp / "manifest.json").write_text(json.dumps(man, indent=2), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out
