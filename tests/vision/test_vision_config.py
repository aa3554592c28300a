"""mmwe.vision.config: FeatureConfig's device comes from mmwe.devices, ONNX runs on the CPU, and reading it imports
no torch."""

from __future__ import annotations

import pytest

from mmwe.errors import MmweError
from mmwe.vision import FeatureConfig


def test_device_comes_from_mmwe_devices_and_onnx_runs_on_the_cpu():
    import subprocess
    import sys

    with pytest.raises(MmweError, match="--device cuda: expected --backend torch, got --backend onnx"):
        FeatureConfig(device="cuda", backend="onnx").validate()
    code = ("import sys; from mmwe.vision.config import FeatureConfig; "
            "print(FeatureConfig(device='auto', backend='onnx').run_device(), "
            "FeatureConfig(device='cpu', backend='torch').run_device(), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["cpu", "cpu", "False"]  # neither reading imports torch
