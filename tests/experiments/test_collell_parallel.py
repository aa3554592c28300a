"""Issue 14: `reproduce collell` used one of two cores. The (direction, map, fold) fits now run in parallel
threads (one torch thread each); the numbers must be exactly those of the fits run one after another."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from mmwe.errors import MmweError
from mmwe.experiments import collell as C
from mmwe.maps import fit_map


@pytest.fixture(scope="module")
def imagenet():
    return C.load_dataset(C.CollellConfig(dataset="imagenet"))


def small(**kw) -> C.CollellConfig:
    return C.CollellConfig(**{"dataset": "imagenet", "epochs": 2, "folds": 3, "explorer_items": 0, **kw})


def test_parallel_fits_give_the_sequential_numbers(imagenet):
    rows = {w: C.exp1_rows(imagenet, small(workers=w, epochs=1, folds=2)) for w in (1, 2)}
    assert rows[1] == rows[2]  # every float identical, not approximately
    assert len(rows[1]) == 4 and {r["map"] for r in rows[1]} == {"lin", "nn"}


def test_parallel_predictions_equal_the_old_fold_loop(imagenet):
    cfg = small(workers=2, maps=("nn",), directions=("I->T",))
    folds = C.kfold_indices(imagenet.image.shape[0], cfg.folds, cfg.seed)
    X, Y = C.sides(imagenet, "I->T")
    with C.thread_limit(1):  # the loop of before: one fit after another, one torch thread
        old = C.out_of_fold_predictions(X, Y, folds, lambda Xtr, Ytr, Xte, f: fit_map(
            Xtr, Ytr, C.map_config(imagenet, "I->T", "nn", cfg, f)).predict(Xte))
        seen = []
        new = C.all_out_of_fold(imagenet, cfg, folds, progress=lambda done, total, label: seen.append((done, total)))
    assert np.array_equal(new[("I->T", "nn")], old)
    assert [d for d, _ in seen] == [1, 2, 3] and {t for _, t in seen} == {3}


def test_workers_default_and_caller_rng_untouched(imagenet):
    assert C.CollellConfig().workers is None and C.CollellConfig().threads == 1
    assert C.fit_workers(C.CollellConfig()) == len(os.sched_getaffinity(0))
    assert C.fit_workers(C.CollellConfig(workers=3)) == 3
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    C.exp1_rows(imagenet, small(epochs=1, folds=2, workers=2, maps=("lin",)))
    assert torch.equal(torch.rand(3), expected)  # the caller's global generator is as it was
    with pytest.raises(MmweError, match="expected workers >= 1"):
        C.CollellConfig(workers=0).validate()
