"""Reproduction of Mao, Xu, Jing, Yuille (NIPS 2016) at laptop scale, one experiment: train the five variants of
the paper (Pure text RNN, Model A, Model A without weight sharing, Model B, Model C) on one corpus, evaluate
their input word embeddings, plus GloVe-6B-50d, on phrase triplets (the paper's metric) and on word-similarity
benchmarks, and check the paper's claims; with several seeds (`run_study`), tuned lr and lambda and a learning
curve, with a test that counts both seeds and triplets.

Modules: `config` (variants, claims, settings), `data` (corpora, features, test-split triplets, subsets),
`training` (jobs, trainer, the trained vectors), `evaluate` (scores, the one `mao_findings`), `markdown` (results.md),
`experiment` (`run`, `run_study`, `reproduce_mao`).
"""

import importlib

from .config import (
    CLAIMS,
    CURVE_BASE,
    PAPER_RP10K,
    SMALL_CORPUS_OVERRIDES,
    VARIANTS,
    WORDSIM_COLUMNS,
    MaoConfig,
    StudyConfig,
    variant_config,
)

_LAZY = {  # torch, scipy: imported on first use (the CLI reads MaoRun, in .config, without them); the functions
    # evaluate and markdown share their module's name: import them from .evaluate / .markdown
    **dict.fromkeys(("prepare_corpus", "subset_corpus", "test_split_triplets"), "data"),
    **dict.fromkeys(("evaluate_vectors", "mao_findings", "wordsim_scores"), "evaluate"),
    **dict.fromkeys(("plan", "reproduce_mao", "run", "run_study", "tune", "write_outputs"), "experiment"),
    **dict.fromkeys(("Job", "Trainer", "trained_vectors"), "training"),
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'mmwe.experiments.mao' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mmwe.experiments.mao.{_LAZY[name]}"), name)


__all__ = ["CLAIMS", "CURVE_BASE", "PAPER_RP10K", "SMALL_CORPUS_OVERRIDES", "VARIANTS",
           "WORDSIM_COLUMNS", "Job", "MaoConfig", "StudyConfig", "Trainer",
           "evaluate_vectors", "mao_findings", "plan", "prepare_corpus",
           "reproduce_mao", "run", "run_study", "subset_corpus", "test_split_triplets",
           "trained_vectors", "tune", "variant_config", "wordsim_scores", "write_outputs"]
