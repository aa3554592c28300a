"""Training the language models of Mao et al. (NIPS 2016): config, data, loop, checkpoints, data parallelism.

Library API: ``TrainConfig``, ``train(corpus_dir, features_path, cfg, out_dir) -> metrics``, ``build_model``,
``variant_config`` / ``train_variants`` for the paper's five rows (puretext, A, A-noshare, B, C).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mmwe.errors import MmweError
from mmwe.lm.model import build_model
from mmwe.lm.config import TrainConfig
from mmwe.lm.loop import train

# The paper's five variants in its Table 2 order: name -> (model, transposed weight sharing).
# B and C were reported without sharing (sharing gave "very similar" results), so they train without it.
VARIANTS: dict[str, tuple[str, bool]] = {
    "puretext": ("puretext", True),
    "A-noshare": ("A", False),
    "A": ("A", True),
    "B": ("B", False),
    "C": ("C", False),
}


def variant_config(name: str, base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (default: the paper's settings) with the model and sharing switch of variant ``name``."""
    if name not in VARIANTS:
        raise MmweError(f"expected a variant among {', '.join(VARIANTS)}, got {name!r}")
    model, share = VARIANTS[name]
    return dataclasses.replace(base or TrainConfig(), model=model, share=share)


def train_variants(corpus_dir, features_path, out_dir, base: TrainConfig | None = None,
                   variants: tuple[str, ...] = tuple(VARIANTS)) -> dict[str, dict]:
    """Train each variant into ``out_dir/<name>`` with the same settings otherwise; {name: metrics}."""
    out = Path(out_dir)
    return {name: train(corpus_dir, features_path, variant_config(name, base), out / name) for name in variants}


__all__ = ["TrainConfig", "train", "build_model", "variant_config", "train_variants", "VARIANTS"]
