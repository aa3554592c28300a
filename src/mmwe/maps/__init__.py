"""Cross-modal maps: learn f(X) ~ Y between paired vectors of two modalities (Collell & Moens 2018).

Interchangeable models share one small interface (fit_map -> CrossModalMap: predict / save / load):

* ``lin``: an affine map ``f(x) = x W + b``;
* ``nn``: a feed-forward net with 1 to 5 hidden layers (ReLU, tanh or sigmoid, optional dropout);
* ``procrustes`` and ``cca``: closed-form linear baselines, stored as the same affine layer as ``lin``
  (see :func:`fit_procrustes` and :func:`fit_cca`).

``lin`` and ``nn`` are trained with Adam, with early stopping on a held-out validation split, on a loss named
by ``MapConfig.loss``: one term of ``LOSSES`` or a weighted sum such as ``"mse=1,neighbourhood=0.5"``:

* ``mse``, ``max-margin``, ``cosine``: the regression / ranking losses of the seed paper (unchanged);
* ``infonce``: symmetric in-batch contrastive loss (CLIP), temperature fixed or learned;
* ``similarity``: match the batch's pairwise cosine-similarity matrix of f(X) to that of Y (the seed's
  "pairwise similarities");
* ``neighbourhood``: KL(q_Y || q_f) between the softmax neighbour distributions of each row over the other rows
  of the batch, in Y and in f(X) (a smooth surrogate of the neighbour lists behind mNNO);
* ``graph``: Y's exact K-NN graph over the training rows (computed here, blocked, with torch); each step draws
  one graph neighbour per batch row and asks f(x_i) to pick it among the neighbours drawn for the other rows
  (InfoNCE with graph positives, the neighbours' side without gradient as in MoCo): a differentiable
  surrogate of mNNO(Y, f(X)) at about 2x the cost of an MSE epoch (benchmarks/bench_bridge.py);
* ``adversarial``: a discriminator learns to tell f(X) from Y and the map learns to fool it (MUSE, Conneau et
  al. 2018); it needs a regression or contrastive term beside it. Settings that trained without divergence on
  IAPR TC-12 and ImageNet concepts: weight 0.1 to 1 against ``mse=1``, 2 hidden LeakyReLU layers of 256, input
  dropout 0.1, label smoothing 0.1, one discriminator step per map step, Adam lr 1e-3 with beta1 = 0.5 (MUSE's
  choices, scaled down); at weight 1 retrieval suffers (the bridge experiment's nn rows), so start at 0.1.

The validation loss that early stopping watches is the same weighted sum without the adversarial term (the
discriminator moves); the graph term is scored on the validation rows' own K-NN graph with a fixed neighbour
draw, so that epochs are compared on the same sample. ``untrained_map`` returns the very same network at its
initialisation, for the "untrained net" control of Collell & Moens (2018, Experiment 2).

Defaults follow the authors' released code (github.com/gcollell/neural_cross_modal_maps) where the agreed
interface leaves room: weights drawn from a normal truncated at 2 std with std = sqrt(2 / (fan_in + fan_out)),
biases 0.1 with ReLU and 0 otherwise, Adam, MSE averaged over all entries. The released code implements only
MSE; the max-margin form is the ranking hinge of Lazaridou et al. (2015) that the paper cites, with the other
rows of the mini-batch as negatives. ``MapConfig.collell`` gives the authors' per-dataset choices.

Everything runs on the CPU and is deterministic: the same seed gives bit-identical weights.

The package, by concept: ``config`` (MapConfig, names, parse_loss), ``normalize`` (vecmap's preprocessing),
``losses``, ``model`` (the network and CrossModalMap: predict / save / load), ``train`` (fit_map, untrained_map)
and ``closed_form`` (Procrustes, CCA). Everything public is importable from ``mmwe.maps`` as before.
"""

from __future__ import annotations

import importlib

from mmwe.maps.config import (
    ACTIVATION_NAMES,
    CLOSED_FORM,
    LOSSES,
    MAX_HIDDEN_LAYERS,
    MODELS,
    PAIRING,
    PAIRWISE,
    TRAINED_MODELS,
    MapConfig,
    parse_loss,
)
from mmwe.maps.normalize import (
    NORMALIZE_STEPS,
    Normalizer,
    parse_normalize,
)

_LAZY = {  # torch: imported on first use, so that MapConfig (mmwe.maps.config) reads without it
    **dict.fromkeys(("fit_cca", "fit_procrustes"), "closed_form"),
    **dict.fromkeys(("compute_loss", "cosine_loss", "graph_loss", "infonce_loss", "max_margin_loss", "mse_loss",
                     "neighbourhood_loss", "similarity_loss"), "losses"),
    **dict.fromkeys(("ACTIVATIONS", "FILE_FORMAT", "FILE_VERSION", "READ_VERSIONS", "CrossModalMap",
                     "build_map_network"), "model"),
    **dict.fromkeys(("discriminator", "fit_map", "knn_graph", "map_device", "untrained_map"), "train"),
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'mmwe.maps' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mmwe.maps.{_LAZY[name]}"), name)


__all__ = [
    "MODELS",
    "TRAINED_MODELS",
    "CLOSED_FORM",
    "LOSSES",
    "PAIRWISE",
    "PAIRING",
    "MAX_HIDDEN_LAYERS",
    "ACTIVATION_NAMES",
    "MapConfig",
    "parse_loss",
    "NORMALIZE_STEPS",
    "parse_normalize",
    "Normalizer",
    "mse_loss",
    "cosine_loss",
    "max_margin_loss",
    "infonce_loss",
    "similarity_loss",
    "neighbourhood_loss",
    "graph_loss",
    "knn_graph",
    "compute_loss",
    "ACTIVATIONS",
    "FILE_FORMAT",
    "FILE_VERSION",
    "READ_VERSIONS",
    "build_map_network",
    "CrossModalMap",
    "fit_procrustes",
    "fit_cca",
    "untrained_map",
    "fit_map",
    "map_device",
    "discriminator",
]
