"""mNNO across processes: the exact search split over 2 gloo ranks (torch.multiprocessing spawn, and the real
``torchrun ... mmwe mnno``) gives the same lists and the same report as one process, on IAPR TC-12 (duplicated
rows) and on tie-heavy generated data; other ranks print nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmwe.neighbors import knn

CONFIGS = [  # (backend, metric, include_self, precision)
    ("exact", "cosine", False, "fp32"), ("exact", "cosine", True, "bf16"), ("exact", "euclidean", False, "bf16"),
    ("exact", "dot", True, "fp32"), ("torch", "cosine", False, "bf16"), ("torch", "euclidean", True, "fp32"),
]


def tie_heavy(seed: int, n: int = 700, d: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(n, d)).astype(np.float32)
    X[rng.integers(0, n, n // 6)] = X[n // 3]  # a big group of exact copies
    return X


def _worker(rank: int, size: int, port: int, sets: list[np.ndarray], out: str) -> None:
    import torch

    from mmwe.lm.ddp import close, init_from_env
    from mmwe.neighbors import knn_many, torchrun_ranks

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    assert torchrun_ranks() == size
    world = init_from_env(torch.device("cpu"))
    assert (world.rank, world.size) == (rank, size)
    got = {}
    for c, (backend, metric, include_self, precision) in enumerate(CONFIGS):
        lists = knn_many(sets, 10, world=world, backend=backend, metric=metric, include_self=include_self,
                         precision=precision, block_size=256)
        for s, L in enumerate(lists):
            got[f"{c}_{s}"] = L
    close(world)
    np.savez(f"{out}/rank{rank}.npz", **got)  # every rank gets the lists (rank 0 broadcast them)


@pytest.fixture(scope="module")
def iapr_sets(iapr_dir):
    from mmwe.datasets.paired import load_pair

    A, B, _ = load_pair(iapr_dir / "TS_lang_biGRU.csv", iapr_dir / "TS_vis_vgg128.csv")
    return A, B


def test_two_gloo_ranks_give_the_one_process_lists(iapr_sets, tmp_path):
    import torch.multiprocessing as mp

    from mmwe.lm.ddp import free_port

    sets = [*iapr_sets, tie_heavy(0)]
    mp.spawn(_worker, args=(2, free_port(), sets, str(tmp_path)), nprocs=2, join=True)
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    for c, (_, metric, include_self, _) in enumerate(CONFIGS):
        for s, X in enumerate(sets):
            want = knn(X, 10, metric=metric, include_self=include_self, precision="fp32")
            for r, got in enumerate(ranks):
                np.testing.assert_array_equal(got[f"{c}_{s}"], want, err_msg=f"{CONFIGS[c]}, set {s}, rank {r}")


def test_tiles_are_shared_out_once_and_balanced():
    from mmwe.neighbors.exact import _my_tiles, _tiles

    diag, off = _tiles(30_016, 4096, 10)
    for world in (2, 3, 8):
        shares = [_my_tiles(diag, off, (r, world)) for r in range(world)]
        assert sorted(t for d, _ in shares for t in d) == sorted(diag)
        assert sorted(t for _, o in shares for t in o) == sorted(off)
        work = [sum((t[1] - t[0]) ** 2 for t in d) + sum((t[1] - t[0]) * (t[3] - t[2]) for t in o) for d, o in shares]
        assert max(work) <= 1.35 * min(work), (world, work)


def _mmwe() -> str:
    exe = Path(sys.executable).with_name("mmwe")
    return str(exe) if exe.exists() else shutil.which("mmwe")


def test_torchrun_mmwe_mnno_equals_one_process(iapr_dir, tmp_path):
    """``torchrun --nproc_per_node=2 --no-python mmwe mnno`` on IAPR TC-12 in bf16: one JSON on stdout (rank 0),
    the same report as one process in float32."""
    from mmwe.metrics.overlap import mnno_report

    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists() or _mmwe() is None:
        pytest.skip("torchrun or the mmwe command is not installed")
    a, b = iapr_dir / "TS_lang_biGRU.csv", iapr_dir / "TS_vis_vgg128.csv"
    args = [str(a), str(b), "--k", "10", "--include-self", "--permutations", "20", "--json"]
    cmd = [str(torchrun), "--standalone", "--nproc_per_node=2", "--no-python", _mmwe(), "mnno", *args,
           "--precision", "bf16"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    got = json.loads(run.stdout)  # exactly one JSON object: the other rank printed nothing
    from mmwe.datasets.paired import load_pair

    A, B, _ = load_pair(a, b)
    want = mnno_report(A, B, k=10, include_self=True, permutations=20, precision="fp32")
    for key, value in want.items():
        assert got[key] == value, key
    assert got["mnno"] == pytest.approx(0.170642, abs=5e-7)  # the exact lower-index figure of test_neighbors_exact
