"""mmwe.vision.registry: the model list, and each spec builds its extractors."""

from __future__ import annotations

import pytest

from mmwe.errors import MmweError
from mmwe.vision import FeatureConfig


def test_registry_is_the_model_list_and_each_spec_builds_its_extractors():
    from mmwe.vision.registry import MODELS, REGISTRY

    assert MODELS == ("efficientnet-lite0", "mobilenetv2") == tuple(REGISTRY)
    for name, spec in REGISTRY.items():
        assert spec.name == name and spec.torch.name == spec.onnx.name == name  # the classes' model names
        meta = spec.meta()
        assert len(meta["weights_sha256_16"]) == 16 and meta["normalisation"] and meta["features"]
    with pytest.raises(MmweError, match=r"--model in \['efficientnet-lite0', 'mobilenetv2'\]"):
        FeatureConfig(model="resnet").validate()
