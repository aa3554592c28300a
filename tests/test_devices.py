"""`mmwe.devices.resolve_device`: one reading of --device for train, features, map train and mnno."""

import subprocess
import sys

import pytest

from mmwe.devices import resolve_device
from mmwe.errors import MmweError


def test_cpu_is_cpu_and_imports_no_torch():
    code = "import sys; from mmwe.devices import resolve_device; print(resolve_device('cpu'), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["cpu", "False"]


def test_unknown_value_is_one_clear_error():
    with pytest.raises(MmweError, match="expected --device auto, cpu or cuda, got 'gpu'"):
        resolve_device("gpu")


def test_auto_and_cuda_follow_torch():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        assert resolve_device("auto") == resolve_device("cuda") == "cuda"
    else:
        assert resolve_device("auto") == "cpu"
        with pytest.raises(MmweError, match="--device cuda: expected a CUDA device, got none"):
            resolve_device("cuda")


def test_torchrun_world_from_the_environment(monkeypatch):
    from mmwe.devices import torchrun_rank

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert torchrun_rank() is None  # not under torchrun
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert torchrun_rank() is None  # one process: nothing to split
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "2")
    assert torchrun_rank() == (2, 3)
    for rank, match in (("3", "expected 0 <= RANK < WORLD_SIZE"), ("x", "expected integer RANK and WORLD_SIZE")):
        monkeypatch.setenv("RANK", rank)
        with pytest.raises(MmweError, match=match):
            torchrun_rank()


def test_torch_free_auto_without_a_gpu_node_is_cpu_and_imports_no_torch():
    code = ("import sys, mmwe.devices as D; D.GPU_NODE = '/nonexistent/nvidia0'; "
            "print(D.resolve_device('auto', torch_free=True), D.resolve_device('cpu', torch_free=True), "
            "'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["cpu", "cpu", "False"]


def test_torch_free_with_a_gpu_node_asks_torch(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    node = tmp_path / "nvidia0"
    node.touch()
    monkeypatch.setattr("mmwe.devices.GPU_NODE", str(node))
    assert resolve_device("auto", torch_free=True) == resolve_device("auto")
    with pytest.raises(MmweError, match="expected --device auto, cpu or cuda, got 'gpu'"):
        resolve_device("gpu", torch_free=True)
