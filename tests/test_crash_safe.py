"""Crash safety: SIGKILL in the middle of training, vector export, feature extraction and corpus building.

Each test runs the real work in a subprocess, kills it with SIGKILL at a known point, and checks that the
output is either the previous complete file or absent, and that running again resumes (training: the final
weights are bit-identical to an uninterrupted run with the same seed, on CPU).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwe.corpus import BuildConfig, PreprocessConfig, build_corpus

REPO = Path(__file__).resolve().parents[1]
WORDS = ["red", "green", "blue", "small", "big", "cat", "dog", "car", "tree", "house", "runs", "sits", "on", "the",
         "a", "near", "old", "new"]


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(REPO / "src"))
    return env


def _jsonl(path: Path, n: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            words = " ".join(rng.choice(WORDS, size=int(rng.integers(4, 10))))
            fh.write(json.dumps({"image": f"img{i:05d}", "caption": words}) + "\n")
    return path


def _wait_for(proc: subprocess.Popen, cond, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process ended (rc {proc.returncode}) before the kill point:\n{err[-2000:]}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("kill point not reached in time")
        time.sleep(0.005)


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


# -- training ---------------------------------------------------------------------------------------------
TRAIN = ["--model", "puretext", "--emb-dim", "16", "--hidden", "32", "--proj", "16", "--negatives", "32",
         "--batch-size", "32", "--checkpoint-every", "5", "--epochs", "2", "--min-count", "2", "--threads", "1",
         "--seed", "3", "--json"]


def _train_cmd(corpus: Path, out: Path, *extra: str) -> list[str]:
    main = "import sys; from mmwe.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", main, "train", str(corpus), "--out", str(out), *TRAIN, *extra]


@pytest.fixture(scope="module")
def text_corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("crash")
    out = d / "corpus"
    build_corpus([str(_jsonl(d / "c.jsonl", 1500))], out,
                 BuildConfig(preprocess=PreprocessConfig(min_words=1, min_count=2)))
    return out


def test_train_sigkill_then_resume_is_bit_identical(text_corpus, tmp_path):
    full, broken = tmp_path / "full", tmp_path / "broken"
    ref = subprocess.Popen(_train_cmd(text_corpus, full), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    victim = subprocess.Popen(_train_cmd(text_corpus, broken), env=_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    _wait_for(victim, lambda: (broken / "checkpoints" / "last.pt").is_file())
    _kill(victim)
    assert not (broken / "model.pt").exists() and not (broken / "vectors.bin").exists()
    step = torch.load(broken / "checkpoints" / "last.pt", weights_only=True)["position"]["step"]
    assert 5 <= step < 80, step  # killed after the first checkpoint, well before the end

    resumed = subprocess.run(_train_cmd(text_corpus, broken, "--resume"), env=_env(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    out, err = ref.communicate(timeout=300)
    assert ref.returncode == 0, err[-2000:]
    a = torch.load(full / "model.pt", weights_only=True)["model"]
    b = torch.load(broken / "model.pt", weights_only=True)["model"]
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), f"{name} differs after resume"
    assert (full / "vectors.bin").read_bytes() == (broken / "vectors.bin").read_bytes()
    assert json.loads(resumed.stdout)["steps"] == json.loads(out)["steps"]


# -- vector export ----------------------------------------------------------------------------------------
_EXPORT = """
import sys, numpy as np
from mmwe.vectors import Vectors, save
out, n = sys.argv[1], int(sys.argv[2])
words = [f"w{i}" for i in range(n)]
versions = [Vectors(words, np.full((n, 50), v, np.float32) + np.arange(50, dtype=np.float32)) for v in (1, 2)]
i = 0
while True:
    save(versions[i % 2], out)
    i += 1
    print(i, flush=True)
"""


@pytest.mark.parametrize("name", ["v.txt", "v.bin"])
def test_kill_during_vector_export_leaves_old_or_nothing(tmp_path, name):
    from mmwe.vectors import load

    out = tmp_path / name
    for delay in (0.0, 0.35, 0.8):
        proc = subprocess.Popen([sys.executable, "-c", _EXPORT, str(out), "20000"], env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if delay:
            _wait_for(proc, out.exists)
            time.sleep(delay)
        else:
            time.sleep(1.5)  # mid-way through the first write (or in the interpreter start-up)
        _kill(proc)
        if out.exists():  # a complete file of one of the two versions, never a mix or a prefix
            v = load(out)
            assert len(v) == 20000 and v.matrix[0, 0] in (1.0, 2.0)
            np.testing.assert_array_equal(v.matrix, v.matrix[0, 0] + np.arange(50, dtype=np.float32)[None, :]
                                          .repeat(20000, 0))
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] in ([], [name])


# -- feature extraction -----------------------------------------------------------------------------------
_FEATURES = """
import sys, time, json
import numpy as np
from mmwe.vision.extract import FeatureConfig, extract_corpus, partial_dir, write_run

class Slow:
    name, backend, dim, image_size = "fake", "fake", 6, 32
    calls = 0
    def __call__(self, images):
        Slow.calls += len(images)
        time.sleep(float(sys.argv[3]))
        x = images.astype(np.float32)  # (B, 32, 32, 3)
        return np.stack([x.mean((1, 2, 3)), x.std((1, 2, 3)), x[..., 0].mean((1, 2)), x[..., 1].mean((1, 2)),
                         x[..., 2].mean((1, 2)), x.max((1, 2, 3))], axis=1)

corpus, out = sys.argv[1], sys.argv[2]
cfg = FeatureConfig(batch_size=4, workers=1)
run = extract_corpus(corpus, cfg, extractor=Slow(), partial=partial_dir(out), chunk=8)
write_run(out, run, cfg, corpus_dir=corpus)
print(json.dumps({"computed": Slow.calls, "images": len(run.keys)}))
"""


@pytest.fixture(scope="module")
def image_corpus(tmp_path_factory) -> Path:
    from PIL import Image

    d = tmp_path_factory.mktemp("imgs")
    lines = []
    rng = np.random.default_rng(0)
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(d / f"im{i}.png")
        lines.append(json.dumps({"image": f"im{i}.png", "caption": f"picture {i} of a small thing"}))
    (d / "bad.png").write_bytes(b"not a png")
    lines.append(json.dumps({"image": "bad.png", "caption": "a broken picture of a thing"}))
    (d / "c.jsonl").write_text("\n".join(lines) + "\n")
    out = d / "corpus"
    build_corpus([str(d / "c.jsonl")], out, BuildConfig(preprocess=PreprocessConfig(min_words=1, min_count=1)))
    return out


def test_kill_during_feature_extraction_then_resume(image_corpus, tmp_path):
    from mmwe.vision.extract import partial_dir
    from mmwe.vision.store import load_features

    ref_out, out = tmp_path / "ref.npy", tmp_path / "f.npy"
    ref = subprocess.run([sys.executable, "-c", _FEATURES, str(image_corpus), str(ref_out), "0"], env=_env(),
                         capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr[-2000:]
    assert json.loads(ref.stdout) == {"computed": 40, "images": 40}

    proc = subprocess.Popen([sys.executable, "-c", _FEATURES, str(image_corpus), str(out), "0.15"], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(proc, lambda: (partial_dir(out) / "progress.json").is_file())
    _kill(proc)
    assert not out.exists() and not out.with_name("f.keys.txt").exists()  # nothing, not a partial file
    done = sum(c["records"] for c in json.loads((partial_dir(out) / "progress.json").read_text())["chunks"])
    assert 8 <= done < 41

    again = subprocess.run([sys.executable, "-c", _FEATURES, str(image_corpus), str(out), "0"], env=_env(),
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    report = json.loads(again.stdout)
    assert report["images"] == 40 and report["computed"] < 40  # finished chunks were not recomputed
    keys_a, a = load_features(ref_out)
    keys_b, b = load_features(out)
    assert keys_a == keys_b
    np.testing.assert_array_equal(a, b)
    meta = json.loads(out.with_name("f.meta.json").read_text())
    assert meta["skipped"] == {"unreadable": 1}


# -- corpus building --------------------------------------------------------------------------------------
_BUILD = """
import sys, time
import mmwe.corpus.build as b
from mmwe.corpus import BuildConfig, PreprocessConfig

slow = float(sys.argv[3])
clean = b.clean_record
calls = [0]
def counted(*a, **k):
    calls[0] += 1
    time.sleep(slow)
    return clean(*a, **k)
b.clean_record = counted
b.build_corpus([sys.argv[1]], sys.argv[2], BuildConfig(preprocess=PreprocessConfig(min_words=1, min_count=2),
                                                     shard_size=100, row_group_size=30))
print(calls[0])
"""


def test_kill_during_corpus_build_then_resume(tmp_path):
    import pyarrow.parquet as pq

    src = _jsonl(tmp_path / "c.jsonl", 600, seed=1)
    with open(src, "a", encoding="utf-8") as fh:  # a bad record and a repeated image: counters must survive
        fh.write('{"image": "img00003", "caption": "again the same image here"}\nnot json\n')
    ref, out = tmp_path / "ref", tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", _BUILD, str(src), str(ref), "0"], env=_env(), capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert int(r.stdout) == 600

    proc = subprocess.Popen([sys.executable, "-c", _BUILD, str(src), str(out), "0.004"], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = tmp_path / ".out.partial"
    _wait_for(proc, lambda: (partial / "progress.json").is_file())
    _kill(proc)
    assert not out.exists()
    again = subprocess.run([sys.executable, "-c", _BUILD, str(src), str(out), "0"], env=_env(), capture_output=True,
                           text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert int(again.stdout) < 600  # the records of finished shards were not processed again
    assert not partial.exists()
    m_ref, m_out = (json.loads((d / "manifest.json").read_text()) for d in (ref, out))
    assert m_ref == m_out
    assert m_out["removed"]["bad_records"] == {"bad_json": 1}
    assert m_out["removed"]["dropped_records"] == {"duplicate_image": 1}
    assert (ref / "token_counts.tsv").read_bytes() == (out / "token_counts.tsv").read_bytes()
    for s in m_ref["shards"]:
        assert pq.read_table(ref / s["file"]).equals(pq.read_table(out / s["file"]))
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "shards", "token_counts.tsv"]
