"""Training the language models of Mao et al. (NIPS 2016): config, data, loop, checkpoints, data parallelism.

corpus -> training: mmwe.corpus (tokenised sentences, token_counts.tsv, ``corpus_vocabulary``) -> ``lm.cache``
(the token cache beside the corpus: vocabulary, encoded examples, features) -> ``lm.data`` (batches) ->
``lm.model`` (``model(batch)`` -> its losses) -> ``lm.loop`` (SGD steps, validation, checkpoints, the vectors).

Library API: ``TrainConfig``, ``train_lm(corpus_dir, features_path, cfg, out_dir, progress=None) -> Trained``
(``.vectors``: mmwe.vectors.Vectors, ``.metrics``: the summary dict; ``train`` is the same function),
``spawn_train`` (local data-parallel processes), ``build_model``, and ``VARIANTS``, the paper's five rows (puretext,
A, A-noshare, B, C) as (model, sharing); ``mmwe.experiments.mao.variant_config`` turns a row into a TrainConfig.
"""

from __future__ import annotations

import importlib

from mmwe.lm.config import TrainConfig

# torch: imported on first use (the CLI reads TrainConfig without it)
_LAZY = {"train": "loop", "train_lm": "loop", "Trained": "loop", "spawn_train": "loop", "build_model": "model"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'mmwe.lm' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mmwe.lm.{_LAZY[name]}"), name)


# The paper's five variants in its Table 2 order: name -> (model, transposed weight sharing).
# B and C were reported without sharing (sharing gave "very similar" results), so they train without it.
VARIANTS: dict[str, tuple[str, bool]] = {
    "puretext": ("puretext", True),
    "A-noshare": ("A", False),
    "A": ("A", True),
    "B": ("B", False),
    "C": ("C", False),
}


__all__ = ["TrainConfig", "Trained", "train", "train_lm", "spawn_train", "build_model", "VARIANTS"]
