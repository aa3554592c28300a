"""`mmwe.devices.distributed_world`: the one reading of torchrun's RANK, WORLD_SIZE and LOCAL_RANK."""

import pytest

from mmwe.devices import DistributedWorld, distributed_world, torchrun_rank
from mmwe.errors import MmweError


@pytest.fixture
def env(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return set_


def test_alone_without_torchrun(env):
    assert distributed_world() == DistributedWorld(0, 1, 0)
    assert torchrun_rank() is None
    env(WORLD_SIZE="1", RANK="5", LOCAL_RANK="5")  # one process, whatever RANK says
    assert distributed_world() == DistributedWorld(0, 1, 0)


def test_ranks_of_a_torchrun_job(env):
    env(WORLD_SIZE="4", RANK="3", LOCAL_RANK="1")  # e.g. 2 machines x 2 processes
    assert distributed_world() == DistributedWorld(3, 4, 1)
    assert torchrun_rank() == (3, 4)
    env(LOCAL_RANK="")
    with pytest.raises(MmweError,
                       match="expected a non-negative integer LOCAL_RANK .set by torchrun., got LOCAL_RANK=''"):
        distributed_world()


@pytest.mark.parametrize("values, message", [
    ({"WORLD_SIZE": "2", "RANK": "x"}, "expected integer RANK and WORLD_SIZE"),
    ({"WORLD_SIZE": "two"}, "expected integer RANK and WORLD_SIZE"),
    ({"WORLD_SIZE": "2", "RANK": "2"}, "expected 0 <= RANK < WORLD_SIZE, got RANK=2 WORLD_SIZE=2"),
    ({"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "-1"}, "expected a non-negative integer LOCAL_RANK"),
])
def test_values_torchrun_never_sets_are_one_error(env, values, message):
    env(**values)
    with pytest.raises(MmweError, match=message):
        distributed_world()


def test_each_rank_gets_a_gpu_of_its_machine(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert [DistributedWorld(r, 6, r % 3).cuda_device() for r in range(6)] == [
        "cuda:0", "cuda:1", "cuda:0", "cuda:0", "cuda:1", "cuda:0"]  # 3 ranks a machine share its 2 GPUs
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert DistributedWorld(1, 2, 1).cuda_device() == "cuda:0"


def test_other_ranks_share_the_output_lock_of_rank_0(env, tmp_path):
    from mmwe.fileio import lock_file, lock_output, release_output

    env(WORLD_SIZE="2", RANK="1", LOCAL_RANK="1")
    out = tmp_path / "out.npy"
    assert lock_output(out) == lock_file(out) and not lock_file(out).exists()  # rank 1 takes no lock
    env(RANK="0", LOCAL_RANK="0")
    assert lock_output(out) == lock_file(out) and lock_file(out).exists()
    release_output(out)
