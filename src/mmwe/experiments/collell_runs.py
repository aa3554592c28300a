"""`mmwe reproduce collell` as one library call: options -> (experiment module, validated config).

The experiments: ``1`` and ``2`` (:mod:`mmwe.experiments.collell`), ``bridge`` (:mod:`mmwe.experiments.bridge`)
and ``imagined`` (:mod:`mmwe.experiments.imagined`); each module has ``run(cfg, progress, log=...)`` and
``save(result, run_dir)``. Every option is checked here, before any data is read or any model loads.
"""

from __future__ import annotations

from types import ModuleType

from mmwe.datasets.iaprtc12 import iapr_paths
from mmwe.errors import MmweError
from mmwe.experiments import bridge, collell, imagined

EXPERIMENTS = ("1", "2", "bridge", "imagined")


def collell_experiment(exp: str, *, dataset: str | None = None, data_dir: str | None = None,
                       visual: tuple[str, ...] | None = None, corpus: str | None = None,
                       cache_dir: str = "runs/cache", min_images: int = 3, losses: str | None = None,
                       folds: int = 5, k: int = 10, metric: str = "cosine", epochs: int | None = None, seed: int = 0,
                       workers: int | None = None) -> tuple[ModuleType, object]:
    """(module, config) of one experiment. ``visual``: CNNs (one for 1 / bridge; default efficientnet-lite0);
    ``corpus``: the visual words' corpus (folder or built-in names joined by "+"; default openmoji, and for
    experiment 2 no visual-word rows); ``losses``: comma-separated families (bridge; default all)."""
    if exp not in EXPERIMENTS:
        raise MmweError(f"--exp: expected one of {', '.join(EXPERIMENTS)}, got {exp!r}")
    if exp in ("2", "imagined") and dataset is not None:
        raise MmweError(f"--dataset: not used by --exp {exp} (it scores word-similarity benchmarks); fix: drop it")
    if exp in ("1", "bridge") and len(visual or ()) > 1:
        raise MmweError(f"--visual: expected one CNN for --exp {exp}, got {len(visual)}; fix: run once per CNN")
    if losses is not None and exp != "bridge":
        raise MmweError("--losses: only for --exp bridge; fix: drop it or add --exp bridge")
    cnns = tuple(visual or ("efficientnet-lite0",))
    dataset = dataset or ("imagenet" if data_dir is None else "iaprtc12")
    words = dict(corpus=corpus, cache_dir=str(cache_dir), min_images=min_images)
    if exp == "imagined":
        return imagined, imagined.ImaginedConfig(
            corpus=corpus or "openmoji", cnns=cnns, cache_dir=str(cache_dir), min_images=min_images, epochs=epochs,
            seed=seed, similarities=("cosine", "euclidean"), ci_boot=200).validate()
    shared = dict(dataset=dataset, data_dir=None if data_dir is None else str(data_dir), folds=folds, k=k,
                  metric=metric, epochs=epochs, seed=seed, **words)
    if exp == "bridge":
        families = tuple(x.strip() for x in losses.split(",") if x.strip()) if losses else bridge.FAMILIES
        lib, cfg = bridge, bridge.BridgeConfig(visual=cnns[0], losses=families, **shared).validate()
    else:
        lib, cfg = collell, collell.CollellConfig(exp=int(exp), workers=workers, visual=cnns, **shared).validate()
    if dataset == "iaprtc12" and exp in ("1", "bridge"):
        iapr_paths(cfg.data_dir)  # fail before any work (and before the progress bar draws)
    return lib, cfg
