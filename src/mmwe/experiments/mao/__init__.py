"""Reproduction of Mao, Xu, Jing, Yuille (NIPS 2016) at laptop scale, one experiment: train the five variants of
the paper (Pure text RNN, Model A, Model A without weight sharing, Model B, Model C) on one corpus, evaluate
their input word embeddings, plus GloVe-6B-50d, on phrase triplets (the paper's metric) and on word-similarity
benchmarks, and check the paper's claims; with several seeds (`run_study`), tuned lr and lambda and a learning
curve, with a test that counts both seeds and triplets.

Modules: `config` (variants, claims, settings), `data` (corpora, features, test-split triplets, subsets),
`training` (jobs, trainer, the trained vectors), `evaluate` (scores, the one `findings`), `markdown` (results.md),
`experiment` (`run`, `run_study`, `reproduce_mao`).
"""

from .config import (
    ALL_SOURCES,
    CLAIMS,
    CURVE_BASE,
    PAPER_RP10K,
    SMALL_CORPUS_OVERRIDES,
    VARIANTS,
    WORDSIM_COLUMNS,
    MaoConfig,
    StudyConfig,
    builtin_names,
    parse_floats,
    variant_config,
)
from .data import prepare_builtin, prepare_corpus, prepare_openmoji, subset_corpus, test_split_triplets
from .evaluate import evaluate, evaluate_vectors, findings, wordsim_scores
from .experiment import plan, reproduce_mao, run, run_study, tune, write_outputs
from .markdown import markdown
from .training import Job, Trainer, trained_vectors

__all__ = ["ALL_SOURCES", "CLAIMS", "CURVE_BASE", "PAPER_RP10K", "SMALL_CORPUS_OVERRIDES", "VARIANTS",
           "WORDSIM_COLUMNS", "Job", "MaoConfig", "StudyConfig", "Trainer", "builtin_names", "evaluate",
           "evaluate_vectors", "findings", "markdown", "parse_floats", "plan", "prepare_builtin", "prepare_corpus",
           "prepare_openmoji", "reproduce_mao", "run", "run_study", "subset_corpus", "test_split_triplets",
           "trained_vectors", "tune", "variant_config", "wordsim_scores", "write_outputs"]
