"""The demo: every reproduction on built-in data, one run folder each (what `make demo` runs).

1. Collell & Moens experiment 1 on the ImageNet-1k concepts (GloVe-6B-50d vs EfficientNet-Lite0 classifier rows),
2. the same on IAPR TC-12 when its CSVs are found (``iapr_dir``, default ``$MMWE_IAPR_DIR`` or
   ``../shared/data/iaprtc12``),
3. the same on words: GloVe-6B-50d vs the EfficientNet-Lite0 visual word vectors of the OpenMoji corpus,
4. Collell & Moens experiment 2 (untrained maps, word similarity; visual half: those visual word vectors),
5. the imagined visual vectors (Collell, Zhang & Moens 2017, Findings 1 and 2) on the same visual words,
6. Mao et al. on the built-in OpenMoji corpus (five models + GloVe, triplets and word similarity).

The visual words use the OpenMoji corpus and EfficientNet-Lite0 features that Mao et al. need anyway
(``mao.prepare_corpus``: built once in ``out/corpora/openmoji`` by `mmwe.corpus.ensure`, features extracted once
by `mmwe.vision.extract.ensure_features`), not the five-corpus union, whose features take ~20 min a CNN;
``words_corpus`` names another corpus (a folder or built-in names) instead.

`run` returns the run folders; the report over them is rendered by ``mmwe.report`` (the CLI does both).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from mmwe.corpus.ensure import ensure
from mmwe.experiments import collell, imagined, mao
from mmwe.experiments.config import DemoConfig  # noqa: F401 (its home is the torch-free config)
from mmwe.progress import Progress


def default_iapr_dir() -> Path:
    return Path(os.environ.get("MMWE_IAPR_DIR", "../shared/data/iaprtc12"))


def collell_jobs(cfg: DemoConfig, log: Callable[[str], None],
                 words_corpus: Path | None = None) -> list[tuple[str, collell.CollellConfig]]:
    """(run folder name, config) of the Collell & Moens runs; IAPR TC-12 only when its folder exists, words and
    experiment 2's visual half only with ``words_corpus``."""
    iapr = Path(cfg.iapr_dir) if cfg.iapr_dir else default_iapr_dir()
    base = collell.CollellConfig(epochs=cfg.collell_epochs, explorer_items=1000)  # all 983 ImageNet concepts
    jobs = [("collell-exp1-imagenet", dataclasses.replace(base, exp=1, dataset="imagenet"))]
    if cfg.iapr_dir is not None or iapr.is_dir():
        jobs.append(("collell-exp1-iaprtc12", dataclasses.replace(base, exp=1, dataset="iaprtc12", data_dir=str(iapr))))
    else:
        log(f"[demo] IAPR TC-12 not found at {iapr}: skipping that dataset")
    corpus = None if words_corpus is None else str(words_corpus)
    if corpus is not None:
        jobs.append(("collell-exp1-words", dataclasses.replace(base, exp=1, dataset="words", corpus=corpus)))
    jobs.append(("collell-exp2", dataclasses.replace(base, exp=2, corpus=corpus)))
    return jobs


def imagined_config(cfg: DemoConfig, words_corpus: Path) -> imagined.ImaginedConfig:
    """Findings 1 and 2 on the demo's visual words (EfficientNet-Lite0), cosine and Euclidean, with CIs."""
    return imagined.ImaginedConfig(corpus=str(words_corpus), cnns=("efficientnet-lite0",), epochs=cfg.collell_epochs,
                                   similarities=("cosine", "euclidean"), ci_boot=200)


def run(cfg: DemoConfig, progress: Progress | None = None, log: Callable[[str], None] = print) -> list[Path]:
    """Run and save every reproduction under ``cfg.out``; returns the run folders in order."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    runs: list[Path] = []
    words_corpus = None
    if cfg.words_corpus is not None and not cfg.skip_words:
        words_corpus = ensure(cfg.words_corpus, out / "corpora", log=lambda m: log(f"[demo] {m}"), progress=progress)
    elif not (cfg.skip_words and cfg.skip_mao):  # the OpenMoji corpus and features serve both
        words_corpus = mao.prepare_corpus("openmoji", out, log, progress=progress)[0]
    for name, ccfg in collell_jobs(cfg, log, None if cfg.skip_words else words_corpus):
        log(f"[demo] {name} ...")
        collell.save(collell.run(ccfg.validate(), progress, log=log), out / name)
        runs.append(out / name)
    if not cfg.skip_words and words_corpus is not None:
        log("[demo] collell-imagined (imagined visual word vectors, Findings 1 and 2) ...")
        imagined.save(imagined.run(imagined_config(cfg, words_corpus), progress, log=log), out / "collell-imagined")
        runs.append(out / "collell-imagined")
    if not cfg.skip_mao:
        log("[demo] mao (five language models on the openmoji corpus) ...")
        corpus, feats = mao.prepare_corpus("openmoji", out, log, progress=progress)
        mcfg = mao.MaoConfig(train_overrides=dict(mao.SMALL_CORPUS_OVERRIDES))
        mao.run(corpus, feats, out / "mao", mcfg, log=log, progress=progress)
        runs.append(out / "mao")
    return runs
