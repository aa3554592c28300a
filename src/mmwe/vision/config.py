"""Settings of a feature-extraction run (torch-free: the CLI reads them to build its options)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from mmwe import devices
from mmwe.config import ARG, Opt
from mmwe.devices import DEVICES, Device
from mmwe.validation import check
from mmwe.vision.images import DEFAULT_MAX_PIXELS, ResizeMode
from mmwe.vision.registry import MODELS

Backend = Literal["torch", "onnx"]
Threshold = Literal["zero", "median"]
BACKENDS: tuple[Backend, ...] = ("onnx", "torch")


@dataclass
class FeatureConfig:
    """Settings of one feature-extraction run."""

    model: str = "efficientnet-lite0"  # one of MODELS (the registered CNNs, mmwe.vision.registry)
    backend: Backend = "onnx"  # "onnx" (ONNX Runtime, fast) or "torch" (eager)
    binarize: bool = False  # store 0/1 features (Mao et al.) instead of the pooled activations
    threshold: Threshold = "zero"  # binarisation: "zero" (x > 0, Mao et al.) or "median" (x > per-dim median)
    batch_size: int = 32  # images per forward pass
    limit: int | None = None  # only the first N corpus records
    max_pixels: int = DEFAULT_MAX_PIXELS  # refuse larger raster images (checked before decoding)
    resize: ResizeMode = "center-crop"  # how a non-square raster image becomes 224 x 224
    num_threads: int | None = None  # backend intra-op threads; None: the backend's default
    workers: int = 2  # image-decoding threads
    cache_dir: str | None = None  # where the ONNX export is cached; None: ~/.cache/mmwe
    processes: int = 1  # extraction processes, each a disjoint set of chunks (under torchrun: one per rank)
    device: Device = "auto"  # torch backend: cuda, cpu, or auto (cuda when present); onnx runs on the CPU

    def validate(self) -> FeatureConfig:
        """Raise MmweError on a setting that cannot work; return self."""
        check(self.model in MODELS, f"expected --model in {list(MODELS)}, got {self.model!r}")
        check(self.backend in BACKENDS, f"expected --backend in {list(BACKENDS)}, got {self.backend!r}")
        check(self.threshold in ("zero", "median"), f"expected --threshold zero or median, got {self.threshold!r}")
        check(self.device in DEVICES, f"expected --device auto, cpu or cuda, got {self.device!r}")
        check(self.device != "cuda" or self.backend == "torch",
              f"--device cuda: expected --backend torch, got --backend {self.backend} (ONNX Runtime runs on the CPU "
              "here); fix: add --backend torch")
        for name in ("batch_size", "max_pixels", "workers", "processes"):
            check(getattr(self, name) >= 1, f"expected --{name.replace('_', '-')} >= 1, got {getattr(self, name)}")
        check(self.limit is None or self.limit >= 0, f"expected --limit >= 0, got {self.limit}")
        return self

    def run_device(self) -> str:
        """Where the model runs: `mmwe.devices.resolve_device` for the torch backend; the CPU for ONNX Runtime
        (the build installed with mmwe is the CPU one), without importing torch."""
        return devices.resolve_device(self.device) if self.backend == "torch" else "cpu"


@dataclass(frozen=True)
class FeaturesOutput:
    """``mmwe features CORPUS [--out FILE]`` (with FeatureConfig; `mmwe.vision.extract.extract_to`)."""

    corpus: Annotated[str, ARG]  # Corpus folder (manifest.json + shards/*.parquet).
    out: Annotated[str | None, Opt(out=True)] = None  # Output .npy (+ .keys.txt) or .parquet (default:
    # CORPUS/features/MODEL.npy; MODEL-bin.npy if binarised).


@dataclass(frozen=True)
class ClassifyConfig:
    """``mmwe classify IMAGES...``: the top ImageNet classes of images (`mmwe.vision.backends.classify_images`)."""

    images: Annotated[tuple[str, ...], ARG]  # Image files (JPEG, PNG, SVG, ...).
    backend: Backend = "torch"  # onnx or torch.
    top: Annotated[int, Opt(min=1)] = 5  # Classes to show per image.
    cache_dir: str | None = None  # Where the ONNX export is cached.
