"""Visual word vectors: a word's vector is the aggregate of the features of the images described with it.

For every record of a corpus folder (``mmwe corpus build``) the words of its sentences are tokenised with the
training tokenizer (:func:`mmwe.corpus.tokenize.tokenize`); a word counts an image once however often it occurs
in that image's text. The vector of a word is the mean, or the element-wise max (Kiela & Bottou, EMNLP 2014), of
the feature rows (``mmwe features``) of those images. Words with fewer than ``min_images`` images are dropped and
counted, and so are stopwords (``STOPWORDS``) unless asked for. Images of the corpus without a feature row
(an SVG that did not render, a ``--limit`` run) are left out and counted.

The source of a record, for the per-source counts, is the corpus name its key starts with
(``"gemojione:1F600"``, see :mod:`mmwe.corpus.debian`); keys without one belong to the corpus's only reader
without that convention (``openmoji``), else to ``"other"``.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np

from mmwe.config import ARG, Opt
from mmwe.corpus.debian import source_of
from mmwe.corpus.store import count_records, iter_records, read_manifest
from mmwe.corpus.tokenize import tokenize
from mmwe.datasets import PairedData
from mmwe.errors import MmweError
from mmwe.fileio import check_output_path
from mmwe.progress import Progress
from mmwe.vectors import Vectors, save
from mmwe.vision.store import load_features

Aggregate = Literal["mean", "max"]
AGGREGATES = ("mean", "max")


@dataclass(frozen=True)
class VisualWordsConfig:
    """``mmwe vectors visual CORPUS --out FILE`` (`write_visual_words`)."""

    corpus: Annotated[str, ARG]  # Corpus folder (see `mmwe corpus build`).
    out: Annotated[str, Opt(out=True)]  # Output vector file (any format `vectors convert` writes, by suffix).
    features: str = "efficientnet-lite0"  # Feature file, or a model name: CORPUS/features/NAME.npy.
    min_images: Annotated[int, Opt(min=1)] = 3  # Drop words described by fewer images (counted).
    aggregate: Aggregate = "mean"  # mean, or max (element-wise, Kiela & Bottou 2014).
    stopwords: bool = False  # Keep stopwords (dropped by default).

    def features_path(self) -> str:
        """The feature file: ``features`` itself when it has a suffix, else CORPUS/features/NAME.npy."""
        named = Path(self.corpus) / "features" / f"{self.features}.npy"
        return self.features if Path(self.features).suffix else str(named)


# English function words (a short list: pronouns, determiners, prepositions, auxiliaries, conjunctions); they
# describe no picture, and in a corpus of short descriptions they would each collect thousands of images.
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves
""".split())


def _record_source(key: str, fallback: str) -> str:
    return source_of(key) or fallback


def _fallback_source(corpus_dir: str | os.PathLike) -> str:
    """The source of keys without a "<corpus>:" prefix: the one reader of the manifest that does not prefix."""
    readers = {s.get("reader", "") for s in read_manifest(corpus_dir).get("sources", [])}
    plain = sorted(r for r in readers if source_of(f"{r}:x") is None)
    return plain[0] if len(plain) == 1 else "other"


def image_words(corpus_dir: str | os.PathLike, feature_keys: dict[str, int], *, stopwords: bool,
                progress: Progress | None = None) -> tuple[dict[str, list[int]], dict]:
    """word -> feature rows of the images it describes (each image once), and the record counts.

    Counts: ``images`` (records), ``images_with_features``, ``images_without_features``, per source the same.
    """
    total = count_records(corpus_dir)
    fallback = _fallback_source(corpus_dir)
    rows: dict[str, list[int]] = defaultdict(list)
    src_of_row: dict[int, str] = {}
    per_source: dict[str, Counter] = defaultdict(Counter)
    for i, rec in enumerate(iter_records(corpus_dir), 1):
        src = _record_source(rec.image, fallback)
        per_source[src]["images"] += 1
        row = feature_keys.get(rec.image)
        if row is None:
            per_source[src]["images_without_features"] += 1
        else:
            per_source[src]["images_with_features"] += 1
            src_of_row[row] = src
            words = {w for s in rec.sentences for w in tokenize(s)}
            for w in sorted(words if stopwords else words - STOPWORDS):
                rows[w].append(row)
        if progress is not None and (i % 1000 == 0 or i == total):
            progress(i, total, "reading the corpus")
    counts = {k: sum(c[k] for c in per_source.values())
              for k in ("images", "images_with_features", "images_without_features")}
    counts["per_source"] = {s: dict(c) for s, c in sorted(per_source.items())}
    counts["_src_of_row"] = src_of_row
    return rows, counts


def aggregate_rows(features: np.ndarray, rows: list[list[int]], how: Aggregate) -> np.ndarray:
    """(W, D) float32: the mean or element-wise max of ``features[rows[w]]`` for each word w."""
    if how not in AGGREGATES:
        raise MmweError(f"expected aggregate 'mean' or 'max', got {how!r}")
    out = np.empty((len(rows), features.shape[1]), dtype=np.float32)  # (W, D)
    for j, idx in enumerate(rows):
        block = features[np.asarray(idx, dtype=np.int64)]  # (n_images, D)
        out[j] = block.mean(axis=0, dtype=np.float64) if how == "mean" else block.max(axis=0)
    return out


def visual_word_vectors(corpus_dir: str | os.PathLike, features_path: str | os.PathLike, *, min_images: int = 3,
                        aggregate: Aggregate = "mean", stopwords: bool = False,
                        progress: Progress | None = None) -> tuple[Vectors, dict]:
    """(vectors, stats): one vector per word described by at least ``min_images`` images with features.

    Words are ordered by image count (descending), ties by word. ``stopwords=True`` keeps stopwords. Stats:
    words_seen, words_kept, words_dropped_min_images, stopwords_dropped (distinct), images (records),
    images_with_features, images_without_features, images_used (images behind at least one kept word),
    features_unmatched (feature rows of no corpus record), images_per_word (min / median / max over kept
    words), per_source (per source: images, images_with_features, images_used, words_kept: kept words with an
    image of that source, words_alone: words with >= min_images images of that source alone), settings.
    """
    if min_images < 1:
        raise MmweError(f"expected min_images >= 1, got {min_images}")
    if aggregate not in AGGREGATES:
        raise MmweError(f"expected aggregate 'mean' or 'max', got {aggregate!r}")
    keys, features = load_features(features_path)
    key_row = {k: i for i, k in enumerate(keys)}
    rows, counts = image_words(corpus_dir, key_row, stopwords=True, progress=progress)
    src_of_row = counts.pop("_src_of_row")
    n_stop = 0 if stopwords else sum(1 for w in rows if w in STOPWORDS)
    seen = {w: r for w, r in rows.items() if stopwords or w not in STOPWORDS}
    kept = sorted((w for w, r in seen.items() if len(r) >= min_images), key=lambda w: (-len(seen[w]), w))
    if not kept:
        raise MmweError(f"expected at least one word described by >= {min_images} images with features, got none "
                        f"({counts['images_with_features']} of {counts['images']} corpus images have features); "
                        "fix: lower --min-images or extract features for this corpus", path=features_path)
    matrix = aggregate_rows(features, [seen[w] for w in kept], aggregate)
    used = {r for w in kept for r in seen[w]}
    n_img = np.array([len(seen[w]) for w in kept])
    stats = {"words_seen": len(seen), "words_kept": len(kept), "words_dropped_min_images": len(seen) - len(kept),
             "stopwords_dropped": n_stop, **{k: counts[k] for k in ("images", "images_with_features",
                                                                     "images_without_features")},
             "images_used": len(used), "features_unmatched": len(keys) - len(src_of_row),
             "images_per_word": {"min": int(n_img.min()), "median": float(np.median(n_img)), "max": int(n_img.max())},
             "per_source": _per_source(counts["per_source"], seen, kept, used, src_of_row, min_images),
             "min_images": min_images, "aggregate": aggregate, "stopwords": stopwords, "dim": int(features.shape[1]),
             "corpus": str(corpus_dir), "features": str(features_path)}
    return Vectors(kept, matrix, source=f"visual words of {features_path}"), stats


def write_visual_words(cfg: VisualWordsConfig, *, progress: Progress | None = None) -> dict:
    """Write the visual word vectors of ``cfg`` to ``cfg.out``; their statistics (`visual_word_vectors`)."""
    check_output_path(cfg.out)
    vecs, stats = visual_word_vectors(cfg.corpus, cfg.features_path(), min_images=cfg.min_images,
                                      aggregate=cfg.aggregate, stopwords=cfg.stopwords, progress=progress)
    save(vecs, cfg.out)
    return stats


def _per_source(per_source: dict, seen: dict[str, list[int]], kept: list[str], used: set[int],
                src_of_row: dict[int, str], min_images: int) -> dict:
    out = {s: {"images": c.get("images", 0), "images_with_features": c.get("images_with_features", 0),
               "images_used": 0, "words_kept": 0, "words_alone": 0} for s, c in per_source.items()}
    for r in used:
        out[src_of_row[r]]["images_used"] += 1
    kept_set = set(kept)
    for w, rs in seen.items():
        by_src = Counter(src_of_row[r] for r in rs)
        for s, n in by_src.items():
            out[s]["words_kept"] += w in kept_set
            out[s]["words_alone"] += n >= min_images
    return out


def paired_words(visual: Vectors, text: Vectors, *, visual_name: str, name: str = "words") -> PairedData:
    """Collell & Moens experiment 1 on words: row i = a word with both vectors (visual vectors' order);
    ``image`` its visual word vector, ``text`` its text vector (e.g. GloVe-6B-50d)."""
    words = [w for w in visual.words if w in text]
    if len(words) < 2:
        raise MmweError(f"expected at least 2 words with both a visual and a text vector, got {len(words)}; "
                        "fix: check that both vocabularies are lower-case English", path=visual.source)
    info = {"n": len(words), "visual_words": len(visual), "text": text.source, "image": visual.source,
            "dropped_no_text_vector": len(visual) - len(words)}
    return PairedData(name, visual.subset(words).matrix, text.subset(words).matrix, visual_name, words=words,
                      info=info)
