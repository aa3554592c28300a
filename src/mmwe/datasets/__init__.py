"""Datasets the experiments and evaluators read: paired image/text vectors (IAPR TC-12, ImageNet-1k concepts),
word-similarity benchmarks (`wordsim`), phrase triplets (`triplets`) and paired matrix files (`paired`).

`PairedData` is the row-paired container both cross-modal datasets load into.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PairedData:
    """Row-paired image-side and text-side vectors of one dataset."""

    name: str  # dataset name
    image: np.ndarray  # (N, dv) visual vectors
    text: np.ndarray  # (N, dt) text vectors
    visual: str  # visual feature name ("vgg128" picks the authors' 512-unit hidden layer)
    labels: list[frozenset] | None = None  # label-id set per row (IAPR TC-12): relevance for mAP
    words: list[str] | None = None  # concept word per row (ImageNet)
    info: dict = field(default_factory=dict)  # provenance and coverage, reported with the results
