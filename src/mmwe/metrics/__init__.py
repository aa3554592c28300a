"""Evaluation metrics: pure functions of arrays (or vectors + a benchmark) returning plain dicts with coverage.

Modules: ``overlap`` (mNNO), ``alignment`` (the Platonic-representation metrics: mutual/cycle/LCS/edit-distance
kNN, CKA, unbiased CKA, CKNNA, SVCCA), ``wordsim`` (word-similarity Spearman/Pearson), ``triplets``
(phrase-triplet accuracy), ``retrieval`` (R@k, P@k, mAP, zero-shot top-k; CSLS and inverted softmax),
``stats`` (bootstrap CIs, Steiger, McNemar), ``analogies`` (3CosAdd / 3CosMul word analogies, as gensim).
The functions are also importable from here, as a newcomer would type them::

    from mmwe.metrics import mnno
    mnno(V, Z, k=10)

They load on first use: ``overlap`` needs torch (the exact kNN), the others do not.
"""

from __future__ import annotations

import importlib

# public name -> (module, attribute)
_API = {
    "mnno": ("overlap", "mnno"), "mnno_report": ("overlap", "mnno_report"),
    "chance_overlap": ("overlap", "chance_overlap"), "overlap_score": ("overlap", "overlap_score"),
    "permutation_null": ("overlap", "permutation_null"), "mutual_knn": ("alignment", "mutual_knn"),
    "linear_cka": ("alignment", "linear_cka"), "cycle_knn": ("alignment", "cycle_knn"),
    "lcs_knn": ("alignment", "lcs_knn"), "edit_distance_knn": ("alignment", "edit_distance_knn"),
    "cka": ("alignment", "cka"), "unbiased_cka": ("alignment", "unbiased_cka"), "cknna": ("alignment", "cknna"),
    "svcca": ("alignment", "svcca"), "alignment_report": ("alignment", "alignment_report"),
    "preprocess_alignment": ("alignment", "preprocess"),
    "evaluate_wordsim": ("wordsim", "evaluate"), "compare_wordsim": ("wordsim", "compare"),
    "pair_similarities": ("wordsim", "pair_similarities"),
    "evaluate_analogies": ("analogies", "evaluate_analogies"), "analogy_outcomes": ("analogies", "analogy_outcomes"),
    "compare_analogies": ("analogies", "compare_analogies"),
    "triplet_accuracy": ("triplets", "triplet_accuracy"), "evaluate_triplets": ("triplets", "evaluate_triplets"),
    "compare_triplets": ("triplets", "compare_triplets"),
    "cosine_scores": ("retrieval", "cosine_scores"), "recall_at_k": ("retrieval", "recall_at_k"),
    "topk_accuracy": ("retrieval", "topk_accuracy"), "average_precision": ("retrieval", "average_precision"),
    "mean_average_precision": ("retrieval", "mean_average_precision"),
    "label_relevance": ("retrieval", "label_relevance"),
    "csls_scores": ("retrieval", "csls_scores"), "csls_from_cosines": ("retrieval", "csls_from_cosines"),
    "inverted_softmax_scores": ("retrieval", "inverted_softmax_scores"),
    "precision_at_k": ("retrieval", "precision_at_k"),
    "spearman": ("stats", "spearman"), "pearson": ("stats", "pearson"), "bootstrap_ci": ("stats", "bootstrap_ci"),
    "steiger_z": ("stats", "steiger_z"), "mcnemar": ("stats", "mcnemar"),
}
__all__ = sorted(_API)


def __getattr__(name: str):
    """Load a metric function on first access (PEP 562): ``overlap`` imports torch, the rest stay light."""
    if name not in _API:
        raise AttributeError(f"module 'mmwe.metrics' has no attribute {name!r}")
    module, attr = _API[name]
    value = getattr(importlib.import_module(f"mmwe.metrics.{module}"), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
