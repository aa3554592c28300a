"""mmwe: train, map and diagnose multimodal word embeddings.

The public API, in data-flow order (each name loads its module on first use, so ``import mmwe`` stays light)::

    corpus    build_corpus, BuildConfig, iter_records       image-caption corpora (readers, tokenizer, store)
    vision    extract_corpus, FeatureConfig, load_features   EfficientNet-Lite0 image features
    vectors   load_vectors, save_vectors, Vectors            word-vector container and file formats
    datasets  load_benchmark, load_triplets, load_pair       benchmarks, triplets, paired matrices
    lm        train_lm (= train), TrainConfig                Mao et al. language models -> (vectors, metrics)
    maps      fit_map, untrained_map, MapConfig, CrossModalMap  text<->vision maps
    neighbors knn                                            exact / faiss / HNSW nearest neighbours
    metrics   mnno, evaluate_wordsim, evaluate_triplets, recall_at_k, ...  (see ``mmwe.metrics``)

Experiments (``mmwe.experiments.collell``, ``.mao``, ``.demo``) and reports (``mmwe.report``) are imported
by module.
"""

from __future__ import annotations

import importlib

from mmwe.errors import MmweError

__version__ = "0.1.0"

# public name -> (module, attribute)
_API = {
    "build_corpus": ("mmwe.corpus.build", "build_corpus"), "BuildConfig": ("mmwe.corpus.build", "BuildConfig"),
    "iter_records": ("mmwe.corpus.store", "iter_records"), "tokenize": ("mmwe.corpus.tokenize", "tokenize"),
    "extract_corpus": ("mmwe.vision.extract", "extract_corpus"),
    "FeatureConfig": ("mmwe.vision.extract", "FeatureConfig"), "load_features": ("mmwe.vision.store", "load_features"),
    "load_vectors": ("mmwe.vectors", "load"), "save_vectors": ("mmwe.vectors", "save"),
    "Vectors": ("mmwe.vectors", "Vectors"),
    "load_benchmark": ("mmwe.datasets.wordsim", "load_benchmark"),
    "load_triplets": ("mmwe.datasets.triplets", "load_triplets"), "load_pair": ("mmwe.datasets.paired", "load_pair"),
    "train_lm": ("mmwe.lm", "train_lm"), "train": ("mmwe.lm", "train"), "TrainConfig": ("mmwe.lm", "TrainConfig"),
    "fit_map": ("mmwe.maps", "fit_map"), "untrained_map": ("mmwe.maps", "untrained_map"),
    "MapConfig": ("mmwe.maps", "MapConfig"), "CrossModalMap": ("mmwe.maps", "CrossModalMap"),
    "knn": ("mmwe.neighbors", "knn"),
    "mnno": ("mmwe.metrics.overlap", "mnno"), "mnno_report": ("mmwe.metrics.overlap", "mnno_report"),
    "evaluate_wordsim": ("mmwe.metrics.wordsim", "evaluate"),
    "evaluate_triplets": ("mmwe.metrics.triplets", "evaluate_triplets"),
    "recall_at_k": ("mmwe.metrics.retrieval", "recall_at_k"),
    "mean_average_precision": ("mmwe.metrics.retrieval", "mean_average_precision"),
}
__all__ = ["MmweError", "__version__", *sorted(_API)]


def __getattr__(name: str):
    """Load a public name on first access (PEP 562): torch and friends load only when needed."""
    if name not in _API:
        raise AttributeError(f"module 'mmwe' has no attribute {name!r}")
    module, attr = _API[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
