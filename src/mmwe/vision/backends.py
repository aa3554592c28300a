"""Feature extractors: what every backend offers, the registered CNN on a backend, a torch module on a GPU."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from mmwe.errors import MmweError
from mmwe.vision.config import BACKENDS, Backend, ClassifyConfig
from mmwe.vision.efficientnet import top_classes
from mmwe.vision.images import load_image, to_model_input
from mmwe.vision.registry import MODELS, REGISTRY


class FeatureExtractor(Protocol):
    """What every backend offers: (B, S, S, 3) pixels in 0..255 -> (B, dim) float32."""

    name: str
    backend: str
    dim: int
    image_size: int

    def __call__(self, images: np.ndarray) -> np.ndarray: ...

    def logits(self, images: np.ndarray) -> np.ndarray: ...



class TorchOnDevice:
    """A torch extractor whose module runs on ``device`` (a GPU): pixels go over as uint8, features come back."""

    def __init__(self, inner: FeatureExtractor, device: str) -> None:
        import torch

        self.inner, self.device = inner, torch.device(device)
        self.name, self.backend, self.dim, self.image_size = inner.name, inner.backend, inner.dim, inner.image_size
        self.module = inner.module.to(self.device)

    def _run(self, images: np.ndarray):
        import torch

        if images.ndim != 4 or images.shape[1:] != (self.image_size, self.image_size, 3):
            raise ValueError(f"expected (B, {self.image_size}, {self.image_size}, 3) pixels, got {images.shape}")
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device).float()  # (B, S, S, 3)
            out = self.module(x)
        return out if isinstance(out, tuple) else (out,)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self._run(images)[0].float().cpu().numpy()  # (B, D)

    def logits(self, images: np.ndarray) -> np.ndarray:
        out = self._run(images)
        if len(out) < 2:
            return self.inner.logits(images)  # raises: this model has no classifier
        return out[1].float().cpu().numpy()  # (B, 1000)



def make_extractor(model: str = "efficientnet-lite0", backend: Backend = "onnx", *, num_threads: int | None = None,
                   cache_dir: str | None = None, device: str = "cpu") -> FeatureExtractor:
    """The registered extractor for (model, backend), on ``device`` (``cpu``, ``cuda``, ``cuda:1``; torch only)."""
    if model not in REGISTRY:
        raise MmweError(f"expected a model in {list(MODELS)}, got {model!r}")
    if device != "cpu" and backend != "torch":
        raise MmweError(f"expected --backend torch to run on {device}, got --backend {backend}")
    spec = REGISTRY[model]
    if backend == "torch":
        ext = spec.torch(num_threads=num_threads)
        return ext if device == "cpu" else TorchOnDevice(ext, device)
    if backend == "onnx":
        return spec.onnx(num_threads=num_threads, cache_dir=cache_dir)
    raise MmweError(f"expected a backend in {list(BACKENDS)}, got {backend!r}")


def classify_images(cfg: ClassifyConfig) -> dict[str, list[dict]]:
    """The ``cfg.top`` ImageNet classes of each image, {path: [{"class", "p"}, ...]}, with the full EfficientNet-Lite0
    classifier (a check that the weights load)."""
    pixels = np.stack([to_model_input(load_image(p)) for p in cfg.images])  # (N, 224, 224, 3)
    ext = make_extractor("efficientnet-lite0", cfg.backend, cache_dir=cfg.cache_dir)
    return {p: [{"class": c, "p": round(pr, 4)} for c, pr in t]
            for p, t in zip(cfg.images, top_classes(ext.logits(pixels), cfg.top))}
