"""The CNNs that give image features, one spec each: its extractors (torch, ONNX Runtime) and what the features'
``.meta.json`` records about it. A new CNN is one `ModelSpec` here (and its module: network, weights, export)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mmwe.vision import efficientnet, mobilenet
from mmwe.vision.onnx_backend import OnnxExtractor


@dataclass(frozen=True)
class ModelSpec:
    """One registered CNN."""

    name: str  # the --model value
    torch: Callable[..., Any]  # (num_threads=) -> eager torch extractor (CPU)
    onnx: Callable[..., Any]  # (num_threads=, cache_dir=) -> ONNX Runtime extractor
    meta: Callable[[], dict]  # what the features' .meta.json records about the model (weights digest included)


def _efficientnet_meta() -> dict:
    return {"normalisation": efficientnet.NORMALISATION,
            "weights_sha256_16": efficientnet.weights_digest(str(efficientnet.default_weights_path())),
            "features": "global average of the last ReLU6 conv layer (before dropout / classifier)"}


REGISTRY: dict[str, ModelSpec] = {
    "efficientnet-lite0": ModelSpec("efficientnet-lite0", efficientnet.TorchExtractor, OnnxExtractor,
                                    _efficientnet_meta),
    "mobilenetv2": ModelSpec("mobilenetv2", mobilenet.TorchMobileNet, mobilenet.OnnxMobileNet, mobilenet.model_meta),
}
MODELS = tuple(REGISTRY)  # the --model choices
