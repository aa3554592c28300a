"""The settings the CLI offers for the reproductions (`mmwe reproduce collell`, `mmwe demo`), torch-free: the CLI
reads these dataclasses (fields, types, the comments as help) before anything heavy loads. ``MaoRun`` is in
``mmwe.experiments.mao.config``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from mmwe.config import Opt

Experiment = Literal["1", "2", "bridge", "imagined"]
EXPERIMENTS = get_args(Experiment)


@dataclass(frozen=True)
class CollellRun:
    """The settings of `mmwe reproduce collell` (the options, generated from the comments: keep them one help)."""

    exp: Experiment = "1"  # 1 (mNNO of trained maps), 2 (untrained maps), bridge
    # (losses that try to bridge the modalities) or imagined (imagined visual word vectors).
    dataset: str | None = None  # 1 / bridge: imagenet (built in; the default), iaprtc12 (default with --data-dir)
    # or words (GloVe vs visual words).
    data_dir: str | None = None  # Folder with the IAPR TC-12 CSVs (iaprtc12).
    visual: tuple[str, ...] = ()  # CNN of the visual words: efficientnet-lite0 (default) or mobilenetv2;
    # repeatable for --exp 2 and imagined.
    corpus: str | None = None  # Corpus of the visual words: a folder or built-in names joined by '+' (default
    # openmoji; exp 2: none). Missing features are extracted once into CORPUS/features/ (minutes).
    cache_dir: str = "runs/cache"  # Where built-in corpora are built.
    min_images: int = 3  # Images a word needs to get a visual vector.
    losses: Annotated[tuple[str, ...], Opt(commas=True)] = ()  # bridge: loss families to run (default: all);
    # repeatable, or comma-separated.
    folds: int = 5  # Cross-validation folds.
    k: int = 10  # Neighbours in mNNO.
    metric: str = "cosine"  # mNNO neighbour metric: cosine or euclidean.
    epochs: int | None = None  # Training epochs (default: the authors' 50).
    seed: int = 0  # Seed of the folds and of the map initialisation.
    workers: int | None = None  # Exp 1: map fits at once (default: the cores).


@dataclass
class DemoConfig:
    """What the demo runs and where it writes."""

    out: str = "runs/demo"  # Folder for every run folder and, from the CLI, report.html.
    iapr_dir: str | None = None  # IAPR TC-12 CSV folder (default: $MMWE_IAPR_DIR or ../shared/data/iaprtc12;
    # skipped when absent).
    skip_mao: bool = False  # Leave out the Mao et al. training runs.
    collell_epochs: int | None = None  # Map training epochs (default: the authors' 50).
    skip_words: bool = False  # Leave out the visual-word runs (experiment 1 on words, experiment 2's visual half,
    # the imagined vectors).
    words_corpus: str | None = None  # corpus of the visual words (a folder or built-in names, built under out);
    # None: the OpenMoji corpus built under out


@dataclass(frozen=True)
class CollellOut:
    """Where `mmwe reproduce collell` writes (nothing by default: the tables print)."""

    out: Annotated[str | None, Opt(out=True)] = None  # Run folder: results.json, results.md, report.md/html.


@dataclass(frozen=True)
class MaoOut:
    """Where `mmwe reproduce mao` writes."""

    out: Annotated[str, Opt(out=True)] = "runs/mao"  # Run folder: one sub-folder per model, results.json/md.
