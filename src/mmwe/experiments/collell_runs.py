"""`mmwe reproduce collell` as one library call: its settings (`CollellRun`) -> (experiment module, validated config).

The experiments: ``1`` and ``2`` (:mod:`mmwe.experiments.collell`), ``bridge`` (:mod:`mmwe.experiments.bridge`)
and ``imagined`` (:mod:`mmwe.experiments.imagined`); each module has ``run(cfg, progress, log=...)`` and
``save(result, run_dir)``. Every setting is checked here, before any data is read or any model loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from mmwe.datasets.iaprtc12 import iapr_paths
from mmwe.errors import MmweError
from mmwe.experiments import bridge, collell, imagined

EXPERIMENTS = ("1", "2", "bridge", "imagined")


@dataclass(frozen=True)
class CollellRun:
    """The settings of `mmwe reproduce collell` (the options, generated from the comments: keep them one help)."""

    exp: Literal["1", "2", "bridge", "imagined"] = "1"  # 1 (mNNO of trained maps), 2 (untrained maps), bridge
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
    losses: str | None = None  # bridge: comma-separated loss families (default: all).
    folds: int = 5  # Cross-validation folds.
    k: int = 10  # Neighbours in mNNO.
    metric: str = "cosine"  # mNNO neighbour metric: cosine or euclidean.
    epochs: int | None = None  # Training epochs (default: the authors' 50).
    seed: int = 0  # Seed of the folds and of the map initialisation.
    workers: int | None = None  # Exp 1: map fits at once (default: the cores).


def collell_experiment(run: CollellRun) -> tuple[ModuleType, object]:
    """(module, config) of one experiment (see `CollellRun`); every setting checked before any work."""
    exp, visual = run.exp, run.visual
    if exp not in EXPERIMENTS:
        raise MmweError(f"--exp: expected one of {', '.join(EXPERIMENTS)}, got {exp!r}")
    if exp in ("2", "imagined") and run.dataset is not None:
        raise MmweError(f"--dataset: not used by --exp {exp} (it scores word-similarity benchmarks); fix: drop it")
    if exp in ("1", "bridge") and len(visual) > 1:
        raise MmweError(f"--visual: expected one CNN for --exp {exp}, got {len(visual)}; fix: run once per CNN")
    if run.losses is not None and exp != "bridge":
        raise MmweError("--losses: only for --exp bridge; fix: drop it or add --exp bridge")
    cnns = tuple(visual or ("efficientnet-lite0",))
    dataset = run.dataset or ("imagenet" if run.data_dir is None else "iaprtc12")
    words = dict(cache_dir=str(run.cache_dir), min_images=run.min_images, epochs=run.epochs, seed=run.seed)
    if exp == "imagined":
        return imagined, imagined.ImaginedConfig(corpus=run.corpus or "openmoji", cnns=cnns, **words,
                                                 similarities=("cosine", "euclidean"), ci_boot=200).validate()
    shared = dict(dataset=dataset, data_dir=None if run.data_dir is None else str(run.data_dir), folds=run.folds,
                  k=run.k, metric=run.metric, corpus=run.corpus, **words)
    if exp == "bridge":
        families = tuple(x.strip() for x in run.losses.split(",") if x.strip()) if run.losses else bridge.FAMILIES
        lib, cfg = bridge, bridge.BridgeConfig(visual=cnns[0], losses=families, **shared).validate()
    else:
        lib, cfg = collell, collell.CollellConfig(exp=int(exp), workers=run.workers, visual=cnns, **shared).validate()
    if dataset == "iaprtc12" and exp in ("1", "bridge"):
        iapr_paths(cfg.data_dir)  # fail before any work (and before the progress bar draws)
    return lib, cfg
