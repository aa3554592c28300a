"""Visual word vectors for the experiments, from a corpus spec: the corpus, its features, then the vectors.

A spec is a corpus folder (``mmwe corpus build``), built-in corpus names joined by "+" (``"openmoji"``,
``"openmoji+openclipart+gemojione+art4apps+tuxpaint"``) or ``"all"``, built once under ``cache_dir/corpora/``
(`mmwe.corpus.ensure`). The image features of a CNN are looked up in CORPUS/features/ (``<cnn>.npy`` or
``<cnn>-<anything>.npy``, not the binarised ``-bin``; the one whose keys cover the most corpus images wins) and
extracted there once (ONNX Runtime, `mmwe.vision.extract.ensure_features`) when none exists: that costs minutes
(the OpenMoji corpus ~3.5 min a CNN on 2 cores, the five-corpus union ~20 min), so later runs reuse it. The
vectors themselves (:func:`mmwe.datasets.visual_words.visual_word_vectors`) take under a second and are not
cached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mmwe.corpus.ensure import ensure, parse_spec
from mmwe.datasets.visual_words import AGGREGATES, visual_word_vectors
from mmwe.errors import MmweError
from mmwe.progress import Progress
from mmwe.validation import check
from mmwe.vectors import Vectors
from mmwe.vision.extract import MODELS, FeatureConfig, ensure_features

Log = Callable[[str], None]


@dataclass
class VisualWordsConfig:
    """Where the visual word vectors come from."""

    corpus: str = "openmoji"  # corpus folder, built-in names joined by "+", or "all" (built under cache_dir)
    cache_dir: str = "runs/cache"  # built-in corpora (and so their features) are kept here between runs
    min_images: int = 3  # words described by fewer images are dropped
    aggregate: str = "mean"  # "mean" or "max" of the image features of a word

    def validate(self) -> VisualWordsConfig:
        """Raise MmweError on a setting that cannot work; return self."""
        check(self.min_images >= 1, f"expected min_images >= 1, got {self.min_images}")
        check(self.aggregate in AGGREGATES, f"expected aggregate in {AGGREGATES}, got {self.aggregate!r}")
        parse_spec(self.corpus)  # a folder or built-in names: fails before any work
        return self


def check_cnns(cnns) -> tuple[str, ...]:
    """The CNN names, validated (``mmwe.vision.MODELS``)."""
    cnns = tuple(cnns)
    bad = [c for c in cnns if c not in MODELS]
    if bad or not cnns:
        raise MmweError(f"expected --visual in {{{', '.join(MODELS)}}}, got {bad[0] if bad else 'none'!r}")
    return cnns


def corpus_folder(cfg: VisualWordsConfig, log: Log = print) -> Path:
    """The corpus folder of ``cfg.corpus`` (`mmwe.corpus.ensure`): the folder itself, or the built-in corpora built
    (once) in CACHE_DIR/corpora/."""
    return ensure(cfg.corpus, Path(cfg.cache_dir) / "corpora", log=lambda m: log(f"[visual words] {m}"))


def _key_count(npy: Path) -> int:
    keys = npy.with_suffix(".keys.txt")
    if not keys.is_file():
        return -1
    with keys.open("rb") as fh:
        return sum(1 for _ in fh)


def find_features(corpus: Path, cnn: str) -> Path | None:
    """The features file of ``cnn`` in CORPUS/features/ with the most keys, or None."""
    folder = Path(corpus) / "features"
    found = [p for p in folder.glob(f"{cnn}*.npy")
             if (p.stem == cnn or p.stem.startswith(cnn + "-")) and not p.stem.endswith("-bin") and _key_count(p) > 0]
    return max(found, key=lambda p: (_key_count(p), p.stem == cnn), default=None)


def features_for(corpus: Path, cnn: str, *, log: Log = print, progress: Progress | None = None) -> Path:
    """The features of ``cnn`` for ``corpus``: found (``find_features``), else extracted into CORPUS/features/."""
    check_cnns([cnn])
    found = find_features(corpus, cnn)
    if found is not None:
        return found
    return ensure_features(corpus, FeatureConfig(model=cnn, backend="onnx"), progress=progress,
                           what=f"{cnn} image features", log=lambda m: log(f"[visual words] {m}"))


def visual_words(cfg: VisualWordsConfig, cnn: str, *, log: Log = print,
                 progress: Progress | None = None) -> tuple[Vectors, dict]:
    """(vectors, stats) of ``cnn``'s visual word vectors on ``cfg.corpus`` (built / extracted when needed).

    Stats are those of ``visual_word_vectors`` plus ``cnn`` and ``corpus_spec``.
    """
    cfg.validate()
    corpus = corpus_folder(cfg, log)
    feats = features_for(corpus, cnn, log=log, progress=progress)
    vec, stats = visual_word_vectors(corpus, feats, min_images=cfg.min_images, aggregate=cfg.aggregate)
    vec.source = f"visual words of {cnn} on {Path(cfg.corpus).name or cfg.corpus}"
    return vec, {**stats, "cnn": cnn, "corpus_spec": cfg.corpus}
