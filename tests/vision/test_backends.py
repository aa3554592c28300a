"""mmwe.vision backends: the real ImageNet weights classify clear images, and ONNX Runtime matches eager torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmwe.vision import load_image, to_model_input, top_classes
from tests.conftest import CLEAR_EMOJI


def test_features_shape_dtype_range(torch_ext, emoji_pixels):
    f = torch_ext(emoji_pixels)
    assert f.shape == (3, 1280) and f.dtype == np.float32
    assert np.isfinite(f).all() and f.min() >= 0 and f.max() <= 6  # pooled ReLU6 activations
    assert not np.allclose(f[0], f[1])


def test_real_weights_classify_clear_emoji(torch_ext, emoji_pixels):
    tops = top_classes(torch_ext.logits(emoji_pixels), 5)
    for (code, expected), top in zip(CLEAR_EMOJI.items(), tops):
        assert expected in [c for c, _ in top], f"{code}: {top}"
    # The pooled features are exactly the classifier's input (no dropout in eval).
    w = torch_ext.module.net._fc
    again = torch_ext(emoji_pixels) @ w.weight.detach().numpy().T + w.bias.detach().numpy()
    np.testing.assert_allclose(again, torch_ext.logits(emoji_pixels), rtol=1e-4, atol=1e-4)


def test_real_weights_classify_photos(torch_ext):
    """Two real JPEG photos shipped with scikit-learn (a Chinese temple, a dahlia) through the full classifier."""
    import sklearn.datasets

    d = Path(sklearn.datasets.__file__).parent / "images"
    pixels = np.stack([to_model_input(load_image(d / f)) for f in ("china.jpg", "flower.jpg")])
    temple, flower = ([c for c, _ in t] for t in top_classes(torch_ext.logits(pixels), 5))
    assert {"palace", "monastery", "bell cote"} & set(temple[:2]), temple
    assert flower[0] == "daisy", flower


def test_onnx_matches_torch(torch_ext, onnx_ext, emoji_pixels, cache_dir):
    a, b = torch_ext(emoji_pixels), onnx_ext(emoji_pixels)
    assert b.shape == a.shape and b.dtype == np.float32
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-4)
    np.testing.assert_allclose(onnx_ext.logits(emoji_pixels), torch_ext.logits(emoji_pixels), rtol=0, atol=1e-3)
    cached = list(cache_dir.glob("efficientnet-lite0-*-v*.onnx"))
    assert len(cached) == 1 and not list(cache_dir.glob(".*tmp"))  # atomic: no temp file left
    mtime = cached[0].stat().st_mtime_ns
    from mmwe.vision.onnx_backend import OnnxExtractor

    OnnxExtractor(cache_dir=str(cache_dir))  # second use: loaded, not re-exported
    assert cached[0].stat().st_mtime_ns == mtime
