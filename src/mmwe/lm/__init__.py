"""Training the language models of Mao et al. (NIPS 2016): config, data, loop, checkpoints, data parallelism.

Library API: ``TrainConfig``, ``train(corpus_dir, features_path, cfg, out_dir, progress=None) -> metrics``,
``spawn_train`` (local data-parallel processes), ``build_model``, and ``VARIANTS``, the paper's five rows (puretext,
A, A-noshare, B, C) as (model, sharing); ``mmwe.experiments.mao.variant_config`` turns a row into a TrainConfig.
"""

from __future__ import annotations

from mmwe.lm.config import TrainConfig
from mmwe.lm.loop import spawn_train, train
from mmwe.lm.model import build_model

# The paper's five variants in its Table 2 order: name -> (model, transposed weight sharing).
# B and C were reported without sharing (sharing gave "very similar" results), so they train without it.
VARIANTS: dict[str, tuple[str, bool]] = {
    "puretext": ("puretext", True),
    "A-noshare": ("A", False),
    "A": ("A", True),
    "B": ("B", False),
    "C": ("C", False),
}


__all__ = ["TrainConfig", "train", "spawn_train", "build_model", "VARIANTS"]
