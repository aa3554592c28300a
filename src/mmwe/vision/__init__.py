"""Image features for multimodal word embeddings (EfficientNet-Lite0, torch or ONNX Runtime).

* :mod:`mmwe.vision.images` — safe image loading (pixel limit before decode, SVG via resvg with external
  references stripped) and 224 x 224 model input.
* :mod:`mmwe.vision.efficientnet` — EfficientNet-Lite0 with its real ImageNet weights (torch backend, classifier).
* :mod:`mmwe.vision.mobilenet` — MobileNetV2 with ImageNet weights (no classifier).
* :mod:`mmwe.vision.onnx_backend` — cached ONNX export run by ONNX Runtime (about 5-10x faster on CPU).
* :mod:`mmwe.vision.registry` — one `ModelSpec` per CNN (its extractors and metadata): the ``--model`` choices.
* :mod:`mmwe.vision.config` — `FeatureConfig` (torch-free); :mod:`mmwe.vision.backends` — the extractors.
* :mod:`mmwe.vision.features` — images -> features (batching, skips, binarisation) and the run sidecar.
* :mod:`mmwe.vision.resume` — finished chunks kept; :mod:`mmwe.vision.parallel` — processes and torchrun ranks.
* :mod:`mmwe.vision.extract` — `extract_corpus`, the entry point (re-exports the names above).
* :mod:`mmwe.vision.store` — ``save_features`` / ``load_features`` (.npy + .keys.txt, or Parquet).

Importing this package does not import torch or onnxruntime; the backends import them when built (heavy).
"""

from mmwe.vision.efficientnet import FEATURE_DIM, IMAGE_SIZE, TorchExtractor, imagenet_lemmas, top_classes
from mmwe.vision.extract import (
    BACKENDS,
    MODELS,
    FeatureConfig,
    FeatureExtractor,
    FeatureRun,
    binarize,
    corpus_size,
    default_output,
    extract_corpus,
    extract_images,
    iter_corpus_images,
    make_extractor,
    write_run,
)
from mmwe.vision.images import DEFAULT_MAX_PIXELS, ImageError, load_image, sanitize_svg, to_model_input
from mmwe.vision.onnx_backend import OnnxExtractor
from mmwe.vision.store import keys_path, load_features, save_features

__all__ = [
    "BACKENDS", "DEFAULT_MAX_PIXELS", "FEATURE_DIM", "FeatureConfig",
    "FeatureExtractor", "FeatureRun", "IMAGE_SIZE", "ImageError", "MODELS", "OnnxExtractor", "TorchExtractor",
    "binarize", "corpus_size", "default_output", "extract_corpus", "extract_images", "imagenet_lemmas",
    "iter_corpus_images", "keys_path", "load_features", "load_image", "make_extractor", "sanitize_svg",
    "save_features", "to_model_input", "top_classes", "write_run",
]
