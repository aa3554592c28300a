"""`mmwe reproduce collell` as one library call: its settings (`CollellRun`) -> (experiment module, validated config).

The experiments: ``1`` and ``2`` (:mod:`mmwe.experiments.collell`), ``bridge`` (:mod:`mmwe.experiments.bridge`)
and ``imagined`` (:mod:`mmwe.experiments.imagined`); each module has ``run(cfg, progress, log=...)`` and
``save(result, run_dir)``. Every setting is checked here, before any data is read or any model loads.
"""

from __future__ import annotations

from types import ModuleType

from mmwe.datasets.iaprtc12 import iapr_paths
from mmwe.errors import MmweError
from mmwe.experiments import bridge, collell, imagined
from mmwe.experiments.config import EXPERIMENTS, CollellRun  # noqa: F401 (CollellRun: its home is the config)


def collell_experiment(run: CollellRun) -> tuple[ModuleType, object]:
    """(module, config) of one experiment (see `CollellRun`); every setting checked before any work."""
    exp, visual = run.exp, run.visual
    if exp not in EXPERIMENTS:
        raise MmweError(f"--exp: expected one of {', '.join(EXPERIMENTS)}, got {exp!r}")
    if exp in ("2", "imagined") and run.dataset is not None:
        raise MmweError(f"--dataset: not used by --exp {exp} (it scores word-similarity benchmarks); fix: drop it")
    if exp in ("1", "bridge") and len(visual) > 1:
        raise MmweError(f"--visual: expected one CNN for --exp {exp}, got {len(visual)}; fix: run once per CNN")
    if run.losses and exp != "bridge":
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
        families = run.losses or bridge.FAMILIES
        lib, cfg = bridge, bridge.BridgeConfig(visual=cnns[0], losses=families, **shared).validate()
    else:
        lib, cfg = collell, collell.CollellConfig(exp=int(exp), workers=run.workers, visual=cnns, **shared).validate()
    if dataset == "iaprtc12" and exp in ("1", "bridge"):
        iapr_paths(cfg.data_dir)  # fail before any work (and before the progress bar draws)
    return lib, cfg
