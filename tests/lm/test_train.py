"""Training: data and batching, the model's own loss, clipping, outputs (the returned vectors are those written),
exact resume, 2-process equivalence, CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwe.errors import MmweError
from mmwe.lm import TrainConfig, train, train_lm
from mmwe.lm.cache import load_dataset
from mmwe.lm.data import epoch_batches, make_batch
from mmwe.lm.loop import clip_grad_global_norm
from tests.conftest import TINY_WORDS as WORDS
from tests.conftest import run_cli
from tests.conftest import tiny_corpus as make_corpus


def small(**kw) -> TrainConfig:
    base = dict(model="A", emb_dim=8, hidden=16, proj=8, negatives=10, batch_size=16, min_count=1, epochs=2,
                patience=3, lr=0.5, device="cpu", checkpoint_every=0, precision="fp32",  # exactness: fp32
                threads=1)  # 1 thread: OpenMP spin-waits make tiny steps crawl on a loaded machine
    return TrainConfig(**(base | kw))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus") / "c")


def last_model(run: Path) -> dict:
    return torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]


# -- data ------------------------------------------------------------------------------------------------------
def test_epoch_batches_partition_sorted_windows_and_determinism():
    lengths = np.random.default_rng(0).integers(1, 30, size=1000)
    b = epoch_batches(lengths, 32, seed=1, epoch=0, window=4)
    flat = np.concatenate(b)
    assert sorted(flat.tolist()) == list(range(1000))
    spread = np.mean([np.ptp(lengths[x]) for x in b])
    assert spread < np.ptp(lengths) / 3  # windows sorted by length: little padding
    assert all(np.array_equal(x, y) for x, y in zip(b, epoch_batches(lengths, 32, seed=1, epoch=0, window=4)))
    assert not all(np.array_equal(x, y) for x, y in zip(b, epoch_batches(lengths, 32, seed=1, epoch=1, window=4)))


def test_images_without_features_are_skipped_and_counted(tmp_path):
    c = make_corpus(tmp_path / "c", featured=20)  # 20 of 40 images have features
    a = load_dataset(c, None, small(model="A"))
    p = load_dataset(c, None, small(model="puretext"))
    assert a.stats["skipped"]["no_features"] > 0 and "no_features" not in p.stats["skipped"]
    assert len(a.train) + a.stats["skipped"]["no_features"] + len(a.val) < len(p.train) + len(p.val) + 1
    assert (a.train.image >= 0).all() and p.features is None


def test_missing_features_is_a_user_error(tmp_path):
    c = make_corpus(tmp_path / "c")
    with pytest.raises(MmweError, match="feature file not found"):
        load_dataset(c, tmp_path / "nope.npy", small(model="B"))
    with pytest.raises(MmweError, match="expected a corpus folder"):
        load_dataset(tmp_path / "missing", None, small())


# -- losses and steps ------------------------------------------------------------------------------------------
def test_model_b_supervises_the_state_after_the_last_word(corpus):
    data = load_dataset(corpus, None, small(model="B"))
    from mmwe.lm.model import build_model

    torch.manual_seed(0)
    m = build_model(small(model="B"), len(data.vocab), data.features.shape[1])
    idx = np.arange(5)
    batch = make_batch(data.train, idx, data.features, "cpu")
    _, aux = m(batch)
    want = 0.0
    for i in idx:  # each sentence alone, unpadded
        s = data.train.tokens[data.train.offsets[i]:data.train.offsets[i + 1]]
        inp = torch.tensor([[2, *s]])
        out, _ = m.gru(m.embed(inp))
        img = torch.relu(m.img(torch.from_numpy(data.features[data.train.image[i]])))
        want += float(torch.linalg.vector_norm(out[0, -1] - img).detach())
    assert float(aux.detach()) == pytest.approx(want, rel=1e-5)


def test_full_softmax_loss_sum_matches_per_sentence(corpus):
    data = load_dataset(corpus, None, small(model="puretext"))
    from mmwe.lm.model import build_model

    m = build_model(small(model="puretext"), len(data.vocab), 0)
    idx = np.arange(4)
    lm, _ = m(make_batch(data.train, idx, None, "cpu"))
    want = 0.0
    for i in idx:
        s = data.train.tokens[data.train.offsets[i]:data.train.offsets[i + 1]].tolist()
        x, _, _ = m.encode(torch.tensor([[2, *s]]))
        logits = x[0] @ m.embed.weight.t() + m.out_bias.weight.squeeze(1)
        want += float(torch.nn.functional.cross_entropy(logits, torch.tensor([*s, 3]), reduction="sum").detach())
    assert float(lm.detach()) == pytest.approx(want, rel=1e-5)


def test_clip_global_norm_counts_duplicate_sparse_rows_once_summed():
    dense = torch.nn.Parameter(torch.zeros(3))
    dense.grad = torch.tensor([3.0, 0.0, 0.0])
    emb = torch.nn.Parameter(torch.zeros(5, 2))
    emb.grad = torch.sparse_coo_tensor(torch.tensor([[1, 1]]), torch.tensor([[2.0, 0.0], [2.0, 0.0]]), (5, 2),
                                       check_invariants=True)
    norm = clip_grad_global_norm([dense, emb], 2.5)
    assert norm == pytest.approx(5.0)  # sqrt(3^2 + (2+2)^2): duplicates summed before the norm
    assert float(dense.grad[0]) == pytest.approx(1.5, rel=1e-5)
    assert emb.grad.to_dense()[1, 0] == pytest.approx(2.0, rel=1e-5)


# -- runs ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["puretext", "A", "B", "C"])
def test_each_model_trains_and_writes_its_run_folder(corpus, tmp_path, model):
    vec, m = train_lm(corpus, None, small(model=model, share=model != "C"), tmp_path / "run")
    run = tmp_path / "run"
    for name in ("config.json", "vocab.tsv", "metrics.jsonl", "metrics.json", "vectors.txt", "vectors.bin",
                 "model.pt", "checkpoints/last.pt", "checkpoints/best.pt"):
        assert (run / name).is_file(), name
    assert m["steps"] == 14 and m["epochs"] == 2 and np.isfinite(m["val_perplexity"]) and m["tokens_per_s"] > 0
    assert (m["val_image_loss"] is None) == (model in ("puretext", "A"))
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(str(run / "vectors.bin"), binary=True)
    assert kv.vector_size == 8 and set(kv.index_to_key) == set(WORDS)
    best = torch.load(run / "model.pt", weights_only=True)["model"]["embed.weight"][4:]
    assert np.allclose(kv[kv.index_to_key[0]], best[0].numpy(), atol=1e-6)
    assert vec.words == kv.index_to_key and np.array_equal(vec.matrix, best.numpy())  # returned = written, bit for bit
    from mmwe.vectors import load

    text = load(str(run / "vectors.txt"))
    assert text.words == vec.words and np.array_equal(text.matrix, vec.matrix)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines if "val_loss" in x] == [0, 1]


def test_training_lowers_validation_loss(tmp_path):
    c = make_corpus(tmp_path / "c", n_img=200)  # ~66 steps over 6 epochs
    m = train(c, None, small(model="puretext", epochs=6, patience=6, lr=1.0), tmp_path / "r").metrics
    hist = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines() if "val_loss" in x]
    assert m["val_loss"] == min(h["val_loss"] for h in hist)
    assert m["val_loss"] < hist[0]["val_loss"] - 0.5 and m["val_loss"] < np.log(24) - 0.5  # well below uniform


def test_resume_continues_bit_identically(corpus, tmp_path):
    cfg = small(model="B", max_steps=10)  # 7 steps per epoch: the stop at 5 and the resume straddle an epoch end
    train(corpus, None, cfg, tmp_path / "full")
    train(corpus, None, dataclasses.replace(cfg, max_steps=5), tmp_path / "part")
    assert torch.load(tmp_path / "part" / "checkpoints" / "last.pt", weights_only=True)["position"]["step"] == 5
    m = train(corpus, None, dataclasses.replace(cfg, resume=True), tmp_path / "part").metrics
    assert m["steps"] == 10
    a, b = last_model(tmp_path / "full"), last_model(tmp_path / "part")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_rejects_a_checkpoint_of_another_config(corpus, tmp_path):
    train(corpus, None, small(model="A", max_steps=2), tmp_path / "r")
    with pytest.raises(MmweError, match="same config.*hidden"):
        train(corpus, None, small(model="A", hidden=12, resume=True), tmp_path / "r")
    with pytest.raises(MmweError, match="already holds a training run"):
        train(corpus, None, small(model="A"), tmp_path / "r")
    with pytest.raises(MmweError, match="expected a checkpoint to resume from"):
        train(corpus, None, small(model="A", resume=True), tmp_path / "fresh")


def test_two_processes_match_one(corpus, tmp_path):
    from mmwe.lm.loop import spawn_train

    cfg = small(model="C", share=True, max_steps=6)
    one = train(corpus, None, cfg, tmp_path / "one").metrics
    spawn_train(2, corpus, None, cfg, tmp_path / "two")
    a, b = last_model(tmp_path / "one"), last_model(tmp_path / "two")
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert two["world_size"] == 2 and two["steps"] == 6 and two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4)


def test_init_vectors_from_a_file(corpus, tmp_path):
    vec = tmp_path / "v.txt"
    vec.write_text("2 3\nw1 1 2 3\nw2 4 5 6\n")
    cfg = small(model="puretext", init_vectors=str(vec), max_steps=0)
    train(corpus, None, cfg, tmp_path / "r")
    info = json.loads((tmp_path / "r" / "config.json").read_text())
    assert info["init_vectors_found"] == 2
    kv = (tmp_path / "r" / "vectors.txt").read_text().splitlines()
    row = next(x for x in kv if x.startswith("w1 ")).split()[1:]
    assert [float(v) for v in row[:3]] == [1.0, 2.0, 3.0]


def test_cli_train_json(corpus, tmp_path, capsys):
    rc = run_cli(["train", str(corpus), "--model", "C", "--emb-dim", "8", "--proj", "8", "--hidden", "8",
                  "--negatives", "5", "--batch-size", "32", "--min-count", "1", "--epochs", "1", "--device", "cpu",
                  "--threads", "1", "--out", str(tmp_path / "run"), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "C" and out["steps"] == 4 and (tmp_path / "run" / "vectors.txt").is_file()
    rc = run_cli(["train", str(corpus), "--model", "A", "--proj", "64", "--out", str(tmp_path / "x"), "--json"])
    assert rc == 2 and "--proj equal to --emb-dim" in capsys.readouterr().err


def test_training_reports_progress_through_a_callback(corpus, tmp_path):
    """The library draws nothing: it calls progress(done, total, what) once per step (the CLI draws the bar)."""
    calls = []
    cfg = TrainConfig(model="puretext", emb_dim=8, proj=8, hidden=8, negatives=5, batch_size=32, min_count=1,
                      epochs=1, device="cpu", threads=1, checkpoint_every=0)
    metrics = train(corpus, None, cfg, tmp_path / "p", progress=lambda d, t, w: calls.append((d, t, w))).metrics
    assert len(calls) == metrics["steps"] > 0
    assert [d for d, _, _ in calls] == list(range(1, len(calls) + 1)) and calls[-1][1] == len(calls)
    assert calls[0][2].startswith("epoch 1/1 loss ")


def test_torchrun_cli_matches_one_process(corpus, tmp_path):
    """docs/usage.md's command: `torchrun --nproc_per_node=2 --no-python mmwe train ...` (gloo, 2 CPU processes)."""
    import os
    import subprocess
    import sys

    bindir = os.path.dirname(sys.executable)
    torchrun, mmwe = os.path.join(bindir, "torchrun"), os.path.join(bindir, "mmwe")
    if not (os.path.exists(torchrun) and os.path.exists(mmwe)):
        pytest.skip("torchrun / mmwe console scripts not installed beside this python")
    args = ["train", str(corpus), "--model", "A", "--emb-dim", "8", "--proj", "8", "--hidden", "16",
            "--negatives", "10", "--batch-size", "16", "--min-count", "1", "--epochs", "1", "--max-steps", "4",
            "--lr", "0.5", "--checkpoint-every", "0", "--threads", "1", "--device", "cpu", "--precision", "fp32",
            "--json"]
    assert run_cli([*args, "--out", str(tmp_path / "one")]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    from mmwe.lm.ddp import free_port

    res = subprocess.run([torchrun, "--nproc_per_node=2", f"--master_port={free_port()}", "--no-python", mmwe, *args,
                          "--out", str(tmp_path / "two")], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    a, b = last_model(tmp_path / "one"), last_model(tmp_path / "two")
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    m1 = json.loads((tmp_path / "one" / "metrics.json").read_text())
    m2 = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert m2["world_size"] == 2 and m2["steps"] == m1["steps"] == 4
    assert m1["train_tokens"] > 0 and m1["tokens_per_s"] > 0  # counted also when --max-steps ends mid-epoch
