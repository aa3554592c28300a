"""Out-of-core training (``TrainConfig(memmap=True)``, mmwe.lm.cache): the same token cache read per batch instead
of held in memory; float32 features train bit-identically, float16 / bits stores, cache reuse and invalidation,
resume, 2-process equivalence out of core, the CLI flags, and the CUDA-only pieces that can run on CPU. (That the
cache holds exactly the corpus's examples: tests/lm/test_cache.py, against a slow reference.)"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from mmwe.errors import MmweError
from mmwe.lm import train
from mmwe.lm.cache import FeatureRows, FileRows, cache_dir, load_dataset
from mmwe.lm.data import make_batch
from mmwe.lm.loop import clip_grad_global_norm, make_optimizer
from tests.lm.test_cache import recount
from tests.lm.test_train import last_model, make_corpus, run_cli, small


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """40 images (every 8th in the corpus's val split); the last 10 without features."""
    return make_corpus(tmp_path_factory.mktemp("mm") / "c", featured=30)


def test_float32_store_trains_bit_identically(corpus, tmp_path):
    cfg = small(model="B", max_steps=9)
    a = train(corpus, None, cfg, tmp_path / "mem").metrics
    b = train(corpus, None, dataclasses.replace(cfg, memmap=True, feature_store="float32"), tmp_path / "mm").metrics
    x, y = last_model(tmp_path / "mem"), last_model(tmp_path / "mm")
    assert all(torch.equal(x[k], y[k]) for k in x)
    assert a["val_loss"] == b["val_loss"] and b["cache"].startswith(str(corpus))


def test_float16_and_bits_stores(corpus):
    mem = load_dataset(corpus, None, small(model="A"))
    f16 = load_dataset(corpus, None, small(model="A", memmap=True, feature_store="float16")).features
    bits = load_dataset(corpus, None, small(model="A", memmap=True, feature_store="bits")).features
    rows = np.arange(len(mem.features))
    assert isinstance(f16, FeatureRows) and f16.shape == bits.shape == mem.features.shape
    assert f16[rows].dtype == np.float16 and np.allclose(f16[rows], mem.features, rtol=1e-3, atol=1e-3)
    want = (mem.features > mem.features.astype(np.float64).mean(axis=0).astype(np.float32)).astype(np.uint8)
    assert np.array_equal(bits[rows], want)
    batch = make_batch(load_dataset(corpus, None, small(model="A", memmap=True)).train, np.arange(4), f16, "cpu")
    assert batch.feats.dtype == torch.float32  # decoded when the batch is made
    assert bits.data.shape == (30, 1)  # 6 dims -> one byte per image
    assert os.path.getsize(f16.data.path) == 30 * 6 * 2


def test_cache_is_reused_and_invalidated(tmp_path):
    c = make_corpus(tmp_path / "c")
    cfg = small(model="A", memmap=True)
    first = cache_dir(c, None, cfg)
    load_dataset(c, None, cfg)
    stamp = (first / "meta.json").stat().st_mtime_ns
    load_dataset(c, None, cfg)
    assert (first / "meta.json").stat().st_mtime_ns == stamp  # written once
    assert cache_dir(c, None, dataclasses.replace(cfg, min_count=2)) != first  # another vocabulary
    assert cache_dir(c, None, dataclasses.replace(cfg, feature_store="bits")) != first
    time.sleep(0.01)
    feats = c / "features" / "efficientnet-lite0.npy"
    np.save(feats, np.load(feats) + 1)  # new features
    assert cache_dir(c, None, cfg) != first
    shard = c / "shards" / "part-00000.parquet"
    t = pq.read_table(shard).to_pydict()
    t["sentences"][1] = ["w1 w2 w3 w4 w5"]
    pq.write_table(pa.table(t), shard)  # a rebuilt corpus
    recount(c)
    second = cache_dir(c, None, cfg)
    assert second != first
    data = load_dataset(c, None, cfg)
    assert data.stats["cache"] == str(second) and not any(p.name.startswith(".") for p in (c / "cache").iterdir())


def test_missing_features_on_the_memmap_path_is_a_user_error(corpus, tmp_path):
    with pytest.raises(MmweError, match="feature file not found"):
        load_dataset(corpus, tmp_path / "nope.npy", small(model="A", memmap=True))
    with pytest.raises(MmweError, match="expected a corpus folder"):
        load_dataset(tmp_path / "missing", None, small(memmap=True))


def test_resume_on_the_memmap_path_is_bit_identical(corpus, tmp_path):
    cfg = small(model="C", share=False, max_steps=8, memmap=True)
    train(corpus, None, cfg, tmp_path / "full")
    train(corpus, None, dataclasses.replace(cfg, max_steps=3), tmp_path / "part")
    m = train(corpus, None, dataclasses.replace(cfg, resume=True), tmp_path / "part").metrics
    assert m["steps"] == 8
    a, b = last_model(tmp_path / "full"), last_model(tmp_path / "part")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_two_processes_match_one_on_the_memmap_path(corpus, tmp_path):
    from mmwe.lm.loop import spawn_train

    cfg = small(model="A", max_steps=6, memmap=True, feature_store="float16")
    one = train(corpus, None, cfg, tmp_path / "one").metrics
    spawn_train(2, corpus, None, cfg, tmp_path / "two")
    a, b = last_model(tmp_path / "one"), last_model(tmp_path / "two")
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert two["world_size"] == 2 and two["steps"] == 6 and two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4)
    assert two["feature_store"] == "float16"


def test_cli_memmap_flags_and_missing_cuda(corpus, tmp_path, capsys):
    args = ["train", str(corpus), "--model", "A", "--emb-dim", "8", "--proj", "8", "--hidden", "8", "--negatives",
            "5", "--batch-size", "32", "--min-count", "1", "--max-steps", "2", "--threads", "1", "--json"]
    assert run_cli([*args, "--memmap", "--feature-store", "bits", "--device", "cpu", "--out", str(tmp_path / "r")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == 2 and out["feature_store"] == "bits"
    assert run_cli([*args, "--memmap", "--feature-store", "int8", "--out", str(tmp_path / "x")]) == 2
    assert "--feature-store float32|float16|bits" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert run_cli([*args, "--device", "cuda", "--out", str(tmp_path / "y")]) == 2
        err = capsys.readouterr().err
        assert "--device cuda: expected a CUDA device, got none" in err and len(err.strip().splitlines()) == 1


def test_fused_optimizer_groups_update_like_plain_sgd():
    """The CUDA optimizer (dense params fused, sparse ones not) gives the plain SGD update (fused SGD runs on CPU)."""
    torch.manual_seed(0)
    emb, lin = torch.nn.Embedding(10, 4, sparse=True), torch.nn.Linear(4, 3)
    params = [emb.weight, lin.weight, lin.bias]
    copies = [torch.nn.Parameter(p.detach().clone()) for p in params]
    for ps, fused in ((params, True), (copies, False)):
        out = torch.nn.functional.embedding(torch.tensor([1, 2, 2]), ps[0], sparse=True) @ ps[1].t() + ps[2]
        out.square().sum().backward()
        clip_grad_global_norm(ps, 1.0)
        make_optimizer(ps, {id(ps[0])}, 0.5, fused=fused).step()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(params, copies))


def test_make_batch_pads_each_sentence_as_written(corpus):
    """The vectorised make_batch against a sentence-by-sentence reference, in memory and memory-mapped."""
    for data in (load_dataset(corpus, None, small()), load_dataset(corpus, None, small(memmap=True))):
        ex = data.train
        idx = np.random.default_rng(0).permutation(len(ex))[:17]
        b = make_batch(ex, idx, data.features, "cpu")
        for r, i in enumerate(idx):
            s = np.asarray(ex.tokens[ex.offsets[i]:ex.offsets[i + 1]]).tolist()
            n = len(s)
            assert b.inp[r, :n + 1].tolist() == [2, *s] and b.tgt[r, :n + 1].tolist() == [*s, 3]
            assert not b.inp[r, n + 1:].any() and not b.tgt[r, n + 1:].any()
            assert b.mask[r].tolist() == [t <= n for t in range(b.inp.shape[1])] and int(b.lengths[r]) == n


def test_file_rows_match_a_memory_map_for_every_index_form(tmp_path):
    """The pread reader against numpy's own indexing of the same file (the oracle): ints, negatives, slices,
    duplicates, unsorted and 2-D index arrays, empty; one descriptor per process (pickled by path)."""
    import pickle

    rng = np.random.default_rng(0)
    for dtype, shape in ((np.float32, (257, 5)), (np.int32, (1000,)), (np.uint8, (40, 3))):
        a = (rng.standard_normal(shape) * 100).astype(dtype)
        path = tmp_path / f"{np.dtype(dtype).name}.bin"
        a.tofile(path)
        rows, oracle = FileRows(path, dtype, shape), np.memmap(path, dtype=dtype, mode="r", shape=shape)
        n = shape[0]
        for idx in (rng.integers(-n, n, 64), np.array([3, 3, 2, 1, 0, n - 1]), rng.integers(0, n, (4, 6)),
                    np.arange(10, 30), np.array([], dtype=np.int64), 7, -1, slice(None), slice(5, 50, 3)):
            got, want = rows[idx], np.asarray(oracle[idx])
            assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
        assert np.array_equal(np.asarray(rows), a) and len(rows) == n
        assert np.array_equal(pickle.loads(pickle.dumps(rows))[np.arange(n)], a)
        with pytest.raises(IndexError):
            rows[np.array([n])]
    short = tmp_path / "short.bin"
    np.arange(10, dtype=np.int32).tofile(short)
    with pytest.raises(MmweError, match="end of the file"):
        FileRows(short, np.int32, (20,))[np.array([15])]
