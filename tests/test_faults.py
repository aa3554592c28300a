"""Faults a user meets (issue 23): a full disk, a killed run started again, two runs on one --out, a download
folder given to `corpus build`, words that are not UTF-8, an R2 that reads as broken, a pinned torch.

Every fault ends with exit 2 and one line on stderr naming the output and what to do: no traceback, nothing
half-written (a resumable ``.NAME.partial`` folder is allowed, and the message says so). The commands run as a
user runs them (``main(argv)`` in this process, or ``python -m mmwe`` in a child that is killed). The full disk is
a small tmpfs when the tests run as root (``mount -t tmpfs -o size=...``), else ENOSPC injected at the write layer.
Slow part (every writing command killed at random points): ``make test-slow``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from mmwe.cli import main
from mmwe.corpus import BuildConfig, PreprocessConfig, build_corpus, iter_records

REPO = Path(__file__).resolve().parents[1]
WORDS = "red green blue small big cat dog car tree house runs sits on the a near old new".split()
GENSIM_0X97 = "pang_lee_polarity_fasttext.vec"  # gensim's test file: byte 0x97 alone on line 150


def _env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(REPO / "src"))


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*map(str, args), "--quiet"])
    out, err = capsys.readouterr()
    return rc, out, err


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("mmwe: error: "), err[-3000:]
    assert "Traceback" not in err
    return lines[0]


def _leftovers(folder: Path) -> list[str]:
    """Temporary files, lock files and partial folders left in ``folder`` (recursively)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*")
                  if p.name.endswith((".tmp", ".lock", ".partial")) or ".tmp." in p.name)


# -- data: a small image corpus, GloVe rows, features and visual words ---------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    from PIL import Image

    from mmwe.vectors import load, save
    from mmwe.vision.store import save_features

    d = tmp_path_factory.mktemp("faults")
    rng = np.random.default_rng(0)
    (d / "imgs").mkdir()
    lines = []
    for i in range(60):
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(d / "imgs" / f"im{i}.png")
        lines.append(json.dumps({"image": f"imgs/im{i}.png", "caption": " ".join(rng.choice(WORDS, 6))}))
    (d / "c.jsonl").write_text("\n".join(lines) + "\n")
    with open(d / "text.jsonl", "w", encoding="utf-8") as fh:  # text only: a build with work to kill
        for i in range(4000):
            fh.write(json.dumps({"image": f"t{i:05d}", "caption": " ".join(rng.choice(WORDS, 8))}) + "\n")
    corpus = d / "corpus"
    build_corpus([str(d / "c.jsonl")], corpus, BuildConfig(preprocess=PreprocessConfig(min_words=1, min_count=1)))
    keys = [r.image for r in iter_records(corpus)]
    save_features(d / "f.npy", keys, rng.standard_normal((len(keys), 64)).astype(np.float32))
    save(load("glove-6b-50d", limit=3000), d / "g.txt")
    assert main(["vectors", "visual", str(corpus), "--features", str(d / "f.npy"), "--out", str(d / "vis.txt"),
                 "--min-images", "2", "--stopwords", "--quiet", "--json"]) == 0
    assert main(["map", "train", str(d / "g.txt"), str(d / "vis.txt"), "--out", str(d / "m.pt"), "--epochs", "2",
                 "--quiet", "--json"]) == 0
    return {"dir": d, "corpus": corpus, "jsonl": d / "c.jsonl", "text": d / "text.jsonl", "features": d / "f.npy",
            "glove": d / "g.txt", "visual": d / "vis.txt", "map": d / "m.pt"}


def _writers(data: dict, out: Path) -> dict[str, tuple[list, Path]]:
    """Every fast command that writes: (argv, its output) with outputs under ``out``."""
    D = data
    return {
        "corpus build": (["corpus", "build", D["jsonl"], "--out", out / "c", "--min-count", "1"], out / "c"),
        "corpus vocab": (["corpus", "vocab", D["corpus"], "--out", out / "vocab.json"], out / "vocab.json"),
        "vectors convert": (["vectors", "convert", D["glove"], out / "v.txt"], out / "v.txt"),
        "vectors visual": (["vectors", "visual", D["corpus"], "--features", D["features"], "--out", out / "vis.txt",
                            "--min-images", "2", "--stopwords"], out / "vis.txt"),
        "map train": (["map", "train", D["glove"], D["visual"], "--out", out / "m.pt", "--epochs", "2"], out / "m.pt"),
        "map apply": (["map", "apply", D["map"], D["glove"], "--out", out / "fx.npy"], out / "fx.npy"),
        "triplets show": (["triplets", "show", "--out", out / "t.tsv"], out / "t.tsv"),
    }


def _all_writers(data: dict, out: Path) -> dict[str, tuple[list, Path]]:
    """_writers and the commands that take longer: features, train."""
    return {**_writers(data, out),
            "features": (["features", data["corpus"], "--out", out / "f.npy", "--backend", "onnx"], out / "f.npy"),
            "train": (["train", data["corpus"], "--out", out / "run", *_TRAIN], out / "run")}


# -- (a) a full disk ---------------------------------------------------------------------------------------
def _can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and sys.platform.startswith("linux")


@contextlib.contextmanager
def _tmpfs(path: Path, size: str, free: int = 0):
    """A tmpfs of ``size`` at ``path``, filled (by .filler) until about ``free`` bytes are left."""
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode(errors='replace').strip()}")
    try:
        with open(path / ".filler", "wb") as fh, contextlib.suppress(OSError):
            fh.write(b"\0" * max(0, os.statvfs(path).f_bavail * os.statvfs(path).f_frsize - free))
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _check_full_disk_error(err: str, out: Path, disk: Path) -> None:
    line = _one_line_error(err)
    assert str(out) in line and "no space left on device (ENOSPC)" in line and "fix: free space" in line, line
    kept = sorted(p.name for p in disk.iterdir() if p.name != ".filler")
    if "the finished part is kept in" in line:  # resumable: only the partial folder the message names
        assert len(kept) == 1 and kept[0].endswith(".partial") and kept[0] in line, (kept, line)
    else:
        assert "no output was left half-written" in line and kept == [], (kept, line)


@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a tmpfs (the injected-ENOSPC test runs instead)")
@pytest.mark.parametrize("command", ["corpus build", "corpus vocab", "vectors convert", "vectors visual",
                                     "map train", "map apply", "triplets show"])
def test_full_disk_one_line_exit_2_nothing_half_written(command, data, tmp_path, capsys):
    with _tmpfs(tmp_path / "full", "64k") as disk:
        args, out = _writers(data, disk)[command]
        rc, _, err = _cli(args, capsys)
        assert rc == 2, err[-3000:]
        _check_full_disk_error(err, out, disk)


@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a tmpfs")
def test_full_disk_features_names_the_output_and_keeps_resumable_chunks(data, tmp_path, capsys):
    """numpy's short write ("N requested and M written", no errno) is a full disk too."""
    with _tmpfs(tmp_path / "full", "256k", free=128 * 1024) as disk:  # room for a chunk, not the output
        rc, _, err = _cli(["features", data["corpus"], "--out", disk / "f.npy", "--backend", "onnx"], capsys)
        assert rc == 2, err[-3000:]
        _check_full_disk_error(err, disk / "f.npy", disk)


_TRAIN = ["--model", "puretext", "--emb-dim", "16", "--hidden", "32", "--proj", "16", "--negatives", "32",
          "--batch-size", "16", "--epochs", "2", "--min-count", "1", "--threads", "1", "--seed", "3"]


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a tmpfs")
def test_full_disk_train_then_rerun_resumes_to_the_same_vectors(data, tmp_path, capsys):
    ref = tmp_path / "ref"
    assert _cli(["train", data["corpus"], "--out", ref, *_TRAIN], capsys)[0] == 0
    with _tmpfs(tmp_path / "full", "256k", free=40 * 1024) as disk:
        rc, _, err = _cli(["train", data["corpus"], "--out", disk / "run", *_TRAIN], capsys)
        line = _one_line_error(err)
        assert rc == 2 and "no space left on device (ENOSPC)" in line and str(disk / "run") in line, line
        assert "the same command resumes" in line
        (disk / ".filler").unlink()
        rc, _, err = _cli(["train", data["corpus"], "--out", disk / "run", *_TRAIN], capsys)
        assert rc == 0, err[-2000:]
        for name in ("vectors.txt", "vectors.bin"):
            assert (disk / "run" / name).read_bytes() == (ref / name).read_bytes()
        assert _leftovers(disk) == []


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a tmpfs")
def test_full_disk_reproduce_and_report(data, tmp_path, capsys):
    run = ["reproduce", "collell", "--exp", "1", "--dataset", "words", "--corpus", data["corpus"], "--epochs", "1",
           "--folds", "2", "--workers", "1"]
    assert _cli([*run, "--out", tmp_path / "coll"], capsys)[0] == 0
    with _tmpfs(tmp_path / "full", "1m", free=8 * 1024) as disk:
        for args, out in (([*run, "--out", disk / "coll"], disk / "coll"),
                          (["report", tmp_path / "coll", "--out", disk / "r.html"], disk / "r.html")):
            rc, _, err = _cli(args, capsys)
            line = _one_line_error(err)
            assert rc == 2 and "no space left on device (ENOSPC)" in line and str(out) in line, line
        assert [p.name for p in disk.iterdir() if p.name != ".filler"] in ([], ["coll"])
        assert not (disk / "coll").exists() or list((disk / "coll").iterdir()) == []


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a tmpfs")
def test_full_disk_corpus_download_then_rerun_resumes(tmp_path, capsys):
    pytest.importorskip("img2dataset")
    import csv
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from PIL import Image

    www = tmp_path / "www"
    www.mkdir()
    rng = np.random.default_rng(1)
    for i in range(30):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(www / f"{i}.png")
    quiet = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(quiet, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with open(tmp_path / "urls.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["url", "caption"])
            w.writerows([f"http://127.0.0.1:{httpd.server_address[1]}/{i}.png", f"a noisy square number {i} here"]
                        for i in range(30))
        with _tmpfs(tmp_path / "full", "1m", free=40 * 1024) as disk:
            rc, _, err = _cli(["corpus", "download", tmp_path / "urls.csv", "--out", disk / "web"], capsys)
            last = err.strip().splitlines()[-1]
            assert rc == 2 and last.startswith(f"mmwe: error: {disk / 'web' / 'shards'}: 1 of 1 shards failed"), err
            assert "no space left on device (ENOSPC" in last and "run the same command again to resume" in last
            assert sorted(p.name for p in (disk / "web" / "shards").iterdir()) == []  # no truncated tar kept
            (disk / ".filler").unlink()
            rc, out, err = _cli(["corpus", "download", tmp_path / "urls.csv", "--out", disk / "web", "--json"],
                                capsys)
            assert rc == 0 and json.loads(out)["downloaded"] == 30, err[-2000:]
    finally:
        httpd.shutdown()


def test_injected_enospc_at_the_write_layer(data, tmp_path, capsys, monkeypatch):
    """Without root: the atomic writers' rename fails with ENOSPC; same one line, the temporary file removed."""
    real = os.replace

    def full(src, dst, *a, **k):
        if str(tmp_path) in str(dst):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", full)
    for command in ("vectors convert", "map apply", "corpus vocab"):
        args, out = _writers(data, tmp_path)[command]
        rc, _, err = _cli(args, capsys)
        assert rc == 2, err
        line = _one_line_error(err)
        assert f"{out}: cannot write it: no space left on device (ENOSPC)" in line, line
        assert list(tmp_path.iterdir()) == [], command


def test_download_output_filter_drops_tracebacks_keeps_progress():
    from mmwe.corpus.download import _forward_without_tracebacks

    text = (b"\r0it [00:00, ?it/s]\r1it [00:01, 1.0s/it]Traceback (most recent call last):\n  File \"w.py\", line 3\n"
            b"    f.write(b)\n\nDuring handling of the above exception, another exception occurred:\n\n"
            b"Traceback (most recent call last):\n  File \"x.py\"\nOSError: [Errno 28] No space left on device\n"
            b"shard 0 failed with error [Errno 28] No space left on device\nRetried 1 times")
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    os.write(w, text)
    os.close(w)
    _forward_without_tracebacks(r, out_w)  # closes r and out_w
    got = os.read(out_r, 1 << 16)
    os.close(out_r)
    assert got == (b"\r0it [00:00, ?it/s]\r1it [00:01, 1.0s/it]\nshard 0 failed with error [Errno 28] No space left "
                   b"on device\nRetried 1 times")


def test_write_errors_without_errno_and_read_only():
    from mmwe.errors import OutputError, errno_name

    assert errno_name(OSError("1310720 requested and 262112 written")) == "ENOSPC"  # numpy's tofile
    e = OutputError.from_os_error(OSError(errno.EROFS, "Read-only file system"), "/ro/out.npy")
    assert str(e).startswith("/ro/out.npy: cannot write it: read-only file system (EROFS); fix: choose an output")
    e = OutputError.from_os_error(OSError(errno.ENOSPC, "x"), "/d/.c.partial/shards/00000.parquet")
    assert str(e).startswith("/d/c: cannot write it: no space left on device (ENOSPC) (writing "
                             "/d/.c.partial/shards/00000.parquet)")


# -- (b) SIGKILL at a random point, then the same command again ---------------------------------------------
def _start(args: list, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mmwe", *map(str, args), "--quiet"], cwd=cwd, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(args: list, cwd: Path) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "mmwe", *map(str, args), "--quiet"], cwd=cwd, env=_env(),
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _files(root: Path) -> dict[str, bytes]:
    if root.is_file():
        return {root.name: root.read_bytes()}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _kill_then_rerun(args_for, compare, tmp_path: Path, kills: int, seed: int) -> list[float]:
    """Run once uninterrupted (timed); then ``kills`` times: start, SIGKILL after a random share of that time,
    and finally the same command to the end. The outputs must equal the uninterrupted run's, byte for byte, and
    no temporary file, lock or partial folder may be left."""
    ref_dir, dir_ = tmp_path / "ref", tmp_path / "run"
    ref_dir.mkdir()
    dir_.mkdir()
    t0 = time.monotonic()
    _run(args_for(ref_dir), tmp_path)
    took = time.monotonic() - t0
    rng = np.random.default_rng(seed)
    delays = []
    for _ in range(kills):
        delay = float(rng.uniform(0.1, 0.95) * took)
        proc = _start(args_for(dir_), tmp_path)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        delays.append(round(delay, 2))
    r = subprocess.run([sys.executable, "-m", "mmwe", *map(str, args_for(dir_)), "--quiet"], cwd=tmp_path,
                       env=_env(), capture_output=True, text=True, timeout=900)
    if r.returncode != 0:  # a kill after the build had renamed its output into place: it is complete
        assert "output folder is not empty; pass --overwrite" in _one_line_error(r.stderr), r.stderr[-3000:]
    assert compare(dir_) == compare(ref_dir), f"killed after {delays} s of {took:.1f} s"
    assert _leftovers(dir_) == [], _leftovers(dir_)
    return delays


def test_corpus_build_killed_at_random_points_then_rerun_is_bit_identical(data, tmp_path):
    args = lambda d: ["corpus", "build", data["text"], "--out", d / "c", "--min-count", "1",  # noqa: E731
                      "--shard-size", "500", "--row-group-size", "100"]
    _kill_then_rerun(args, lambda d: _files(d / "c"), tmp_path, kills=2, seed=23)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["features", "vectors convert", "vectors visual", "map train", "map apply",
                                     "train", "corpus build"])
def test_every_writer_killed_at_random_points_then_rerun_is_bit_identical(command, data, tmp_path):
    D = data
    cases = {
        "features": (lambda d: ["features", D["corpus"], "--out", d / "f.npy", "--backend", "onnx"],
                     lambda d: {k: v for k, v in _files(d).items() if not k.endswith(".meta.json")}),
        "vectors convert": (lambda d: ["vectors", "convert", "glove-6b-50d", d / "v.txt", "--limit", "100000"],
                            _files),
        "vectors visual": (lambda d: ["vectors", "visual", D["corpus"], "--features", D["features"], "--out",
                                      d / "vis.txt", "--min-images", "2", "--stopwords"], _files),
        "map train": (lambda d: ["map", "train", D["glove"], D["visual"], "--out", d / "m.pt", "--epochs", "20"],
                      lambda d: _map_weights(d / "m.pt")),
        "map apply": (lambda d: ["map", "apply", D["map"], D["glove"], "--out", d / "fx.npy"], _files),
        "train": (lambda d: ["train", D["corpus"], "--out", d / "run", "--features", D["features"], *_TRAIN],
                  lambda d: {k: v for k, v in _files(d / "run").items() if k.startswith("vectors")}),
        "corpus build": (lambda d: ["corpus", "build", D["text"], "--out", d / "c", "--min-count", "1",
                                    "--shard-size", "200", "--row-group-size", "50"], lambda d: _files(d / "c")),
    }
    args, compare = cases[command]
    _kill_then_rerun(args, compare, tmp_path, kills=3, seed=hash(command) % 1000)


def _map_weights(path: Path) -> dict:
    import torch

    blob = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.numpy().tobytes() for k, v in blob["state_dict"].items()}


# -- (c) two runs at once with the same --out -------------------------------------------------------------
_HOLD = "import sys, time; from mmwe.fileio import lock_output; lock_output(sys.argv[1]); print('held', flush=True); " \
        "time.sleep(600)"


def test_second_run_on_a_held_output_refuses_naming_the_first(data, tmp_path, capsys):
    for command, (args, out) in _all_writers(data, tmp_path).items():
        holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], env=_env(), stdout=subprocess.PIPE,
                                  text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            rc, _, err = _cli(args, capsys)
            assert rc == 2, (command, err[-2000:])
            line = _one_line_error(err)
            assert f"{out}: another mmwe run is writing this output (pid {holder.pid}," in line, line
            assert "fix: wait for it to end, or choose another --out" in line
            assert not out.exists(), command
        finally:
            holder.send_signal(signal.SIGKILL)  # dies holding the lock: its lock file stays, stale
            holder.wait()
        assert (out.parent / f".{out.name}.lock").exists()
        rc, _, err = _cli(args, capsys)  # the stale lock is taken over, then removed
        assert rc == 0, (command, err[-2000:])
        assert out.exists() and not (out.parent / f".{out.name}.lock").exists(), command


def test_torchrun_ranks_share_the_lock_of_their_job(tmp_path):
    """Under torchrun only rank 0 locks --out: the other ranks of the same job write beside it."""
    code = ("import os, sys; from mmwe.fileio import lock_output, release_output; lock_output(sys.argv[1]); "
            "print('ok', flush=True)")
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        rank1 = subprocess.run([sys.executable, "-c", code, str(out)], env={**_env(), "WORLD_SIZE": "2", "RANK": "1"},
                               capture_output=True, text=True)
        assert rank1.returncode == 0 and rank1.stdout.strip() == "ok", rank1.stderr[-2000:]
        rank0 = subprocess.run([sys.executable, "-c", code, str(out)], env={**_env(), "WORLD_SIZE": "2", "RANK": "0"},
                               capture_output=True, text=True)
        assert rank0.returncode != 0 and f"pid {holder.pid}" in rank0.stderr  # another job's rank 0 is refused
    finally:
        holder.kill()
        holder.wait()


def test_two_corpus_builds_at_once_one_refuses_or_both_finish_never_a_mix(data, tmp_path):
    ref = tmp_path / "ref"
    args = lambda out: ["corpus", "build", data["text"], "--out", out, "--min-count", "1"]  # noqa: E731
    _run(args(ref), tmp_path)
    procs = [_start(args(tmp_path / "c"), tmp_path) for _ in range(2)]
    results = [(p.pid, p.wait(timeout=600), p.communicate()[1]) for p in procs]
    assert sorted(rc for _, rc, _ in results) in ([0, 0], [0, 2]), results
    for pid, rc, err in results:
        if rc == 2:
            other = next(q for q, _, _ in results if q != pid)
            assert f"another mmwe run is writing this output (pid {other}," in _one_line_error(err), err
    assert _files(tmp_path / "c") == _files(ref)
    assert _leftovers(tmp_path) == []


def test_stale_temporary_files_of_a_killed_writer_are_removed(tmp_path):
    from mmwe.fileio import atomic_write

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".v.txt.{dead.pid}.abc123.tmp"
    stale.write_text("half")
    mine = tmp_path / f".v.txt.{os.getpid()}.keep.tmp"  # this process's own: never touched
    mine.write_text("x")
    with atomic_write(tmp_path / "v.txt", "w") as fh:
        fh.write("whole")
    assert not stale.exists() and mine.exists() and (tmp_path / "v.txt").read_text() == "whole"


# -- the download folder -----------------------------------------------------------------------------------
def _download_folder(root: Path) -> Path:
    """What `mmwe corpus download` leaves: urls.parquet (3 URLs, 1 failed), shards/00000.tar (2 images),
    download.json."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    web = root / "web"
    (web / "shards").mkdir(parents=True)
    urls = [f"http://127.0.0.1:1/{n}.png" for n in ("a", "b", "gone")]
    texts = [["a small red square on white"], ["a small blue square on white"], ["a picture that is gone"]]
    pq.write_table(pa.table({"url": urls, "sentences": texts}), web / "urls.parquet")
    (web / "urls.sha256").write_text("0" * 64 + "\n")
    with tarfile.open(web / "shards" / "00000.tar", "w") as tf:
        for i, (color, text) in enumerate([((255, 0, 0), texts[0]), ((0, 0, 255), texts[1])]):
            buf = io.BytesIO()
            Image.new("RGB", (8, 8), color).save(buf, "JPEG")
            for name, blob in ((f"{i:09d}.jpg", buf.getvalue()),
                               (f"{i:09d}.json", json.dumps({"url": urls[i], "sentences": text}).encode())):
                info = tarfile.TarInfo(name)
                info.size = len(blob)
                tf.addfile(info, io.BytesIO(blob))
    (web / "shards" / "00000_stats.json").write_text(json.dumps({"count": 3, "successes": 2,
                                                                 "status_dict": {"success": 2, "404": 1}}))
    (web / "download.json").write_text(json.dumps({"urls_tried": 3, "downloaded": 2, "failed": {"http_404": 1}}))
    return web


def test_corpus_build_of_a_download_folder_reads_its_shards_not_its_url_list(tmp_path, capsys):
    web = _download_folder(tmp_path)
    rc, out, err = _cli(["corpus", "build", web, "--out", tmp_path / "c", "--min-count", "1", "--json"], capsys)
    assert rc == 0, err
    manifest = json.loads(out)
    assert manifest["sources"] == [{"source": str((web / "shards").resolve()), "reader": "webdataset"}]
    records = list(iter_records(tmp_path / "c"))
    assert sorted(s for r in records for s in r.sentences) == texts_of_shards()
    assert all(r.image_path and "::" in r.image_path for r in records)  # images in the tar, not URL-only
    rc, _, err = _cli(["corpus", "build", web / "urls.parquet", "--out", tmp_path / "c2"], capsys)
    line = _one_line_error(err)  # the URL list is never a corpus
    assert rc == 2 and "URL list of a `mmwe corpus download` folder" in line, line
    assert f"fix: mmwe corpus build {web} (reads its downloaded shards)" in line, line
    rc, _, err = _cli(["corpus", "build", web, "--reader", "parquet", "--out", tmp_path / "c2"], capsys)
    assert rc == 2 and "web/shards: expected files matching ['*.parquet']" in _one_line_error(err), err
    assert not (tmp_path / "c2").exists()


def texts_of_shards() -> list[str]:
    return ["a small blue square on white", "a small red square on white"]


def test_download_folder_without_shards_says_to_resume(tmp_path, capsys):
    web = _download_folder(tmp_path)
    for f in (web / "shards").iterdir():
        f.unlink()
    rc, _, err = _cli(["corpus", "build", web, "--out", tmp_path / "c"], capsys)
    assert rc == 2 and "run the same `mmwe corpus download` again" in _one_line_error(err)


# -- --unicode-errors on every command that reads word vectors ---------------------------------------------
@pytest.fixture(scope="module")
def cp1252_vectors(tmp_path_factory) -> Path:
    """gensim's test file with byte 0x97 in a word when installed; else the same fault made here."""
    gensim = pytest.importorskip("gensim")
    p = Path(gensim.__file__).parent / "test" / "test_data" / GENSIM_0X97
    if p.is_file():
        return p
    d = tmp_path_factory.mktemp("cp1252")
    rows = [b"the", b"caf\xe9", b"em\x97dash", b"ok"]
    (d / "v.vec").write_bytes(b"4 3\n" + b"".join(w + b" 0.1 0.2 0.3\n" for w in rows))
    return d / "v.vec"


def _vector_readers(v: Path, tmp: Path, glove: Path) -> dict[str, list]:
    return {
        "vectors convert": ["vectors", "convert", v, tmp / "o.txt"],
        "vectors info": ["vectors", "info", v],
        "eval-words": ["eval-words", v, "-b", "simlex999"],
        "eval-triplets": ["eval-triplets", v, "--no-ci"],
        "mnno": ["mnno", v, v, "--k", "3"],
        "map train": ["map", "train", v, v, "--out", tmp / "m.pt", "--epochs", "1"],
        "map apply": ["map", "apply", tmp / "m.pt", v, "--out", tmp / "fx.npy"],
    }


def test_unicode_errors_flag_on_every_command_that_reads_vectors(cp1252_vectors, tmp_path, capsys):
    readers = _vector_readers(cp1252_vectors, tmp_path, cp1252_vectors)
    for name, args in readers.items():
        rc, _, err = _cli(args, capsys)
        line = _one_line_error(err)
        assert rc == 2 and "not valid UTF-8" in line, (name, line)
        assert "--unicode-errors replace" in line and "unicode_errors=" not in line, (name, line)
        rc, out, err = _cli([*args, "--unicode-errors", "replace"], capsys)
        assert rc == 0, (name, err[-2000:])
        rc, out, err = _cli([*args, "--unicode-errors", "ignore"], capsys)  # the flag reaches the reader:
        if cp1252_vectors.name == GENSIM_0X97:  # there byte 0x97 is a whole word, which "ignore" would empty
            assert rc == 2 and "is empty once its undecodable bytes are dropped (--unicode-errors ignore); fix: use " \
                "--unicode-errors replace" in _one_line_error(err), (name, err)
        else:
            assert rc == 0, (name, err[-2000:])
    rc, _, err = _cli([*readers["vectors info"], "--unicode-errors", "lenient"], capsys)
    assert rc == 2 and "--unicode-errors: expected strict, replace or ignore" in _one_line_error(err)


def test_unicode_errors_replace_reads_as_gensim(cp1252_vectors, tmp_path, capsys):
    gensim = pytest.importorskip("gensim")
    from gensim.models import KeyedVectors

    from mmwe.vectors import load

    rc, _, err = _cli(["vectors", "convert", cp1252_vectors, tmp_path / "o.npy", "--unicode-errors", "replace"],
                      capsys)
    assert rc == 0, err
    ref = KeyedVectors.load_word2vec_format(str(cp1252_vectors), unicode_errors="replace")
    got = load(tmp_path / "o.npy")
    assert list(got.words) == list(ref.index_to_key) and gensim
    np.testing.assert_array_equal(got.matrix, ref.vectors)


# -- R2: variance-weighted in every table ------------------------------------------------------------------
def _r2_oracle(Y: np.ndarray, F: np.ndarray) -> float:
    """1 - sum of squared residuals / sum of squared deviations from the column means, over every cell (loops)."""
    n, d = Y.shape
    res = tot = 0.0
    for j in range(d):
        mean = sum(float(Y[i, j]) for i in range(n)) / n
        for i in range(n):
            res += (float(Y[i, j]) - float(F[i, j])) ** 2
            tot += (float(Y[i, j]) - mean) ** 2
    return 1 - res / tot


def test_r2_is_variance_weighted_as_sklearn_and_the_oracle():
    from sklearn.metrics import r2_score

    from mmwe.experiments.collell import regression_scores
    from mmwe.experiments.imagined import heldout_scores

    rng = np.random.default_rng(5)
    Y = rng.standard_normal((40, 6))
    Y[:, 0] = 1.0 + 1e-4 * rng.standard_normal(40)  # a near-constant visual dimension
    F = Y + 0.3 * rng.standard_normal((40, 6))
    got = regression_scores(Y, F)["r2"]
    assert got == pytest.approx(r2_score(Y, F, multioutput="variance_weighted"), abs=1e-12)
    assert got == pytest.approx(_r2_oracle(Y, F), abs=1e-9)
    assert r2_score(Y, F) < -100 < 0 < got < 1  # the uniform mean reads as broken, the weighted one does not

    class Identity:
        def predict(self, X):
            return X

    h = heldout_scores(Identity(), F, Y)
    assert h["r2"] == pytest.approx(r2_score(Y, F, multioutput="variance_weighted"), abs=1e-12)


def test_tables_say_r2_is_variance_weighted():
    from mmwe.report.summaries import EXP1_COLUMNS

    assert dict(EXP1_COLUMNS)["r2"] == "R2 (var.-weighted)"
    doc = (REPO / "docs" / "reliability.md").read_text(encoding="utf-8")  # the README's former "Reliability" section
    assert "variance-weighted" in doc and 'multioutput="variance_weighted"' in doc


# -- dependencies: ranges, torch's admitting the installed one and an older minor ----------------------------
def test_dependencies_are_ranges_and_torch_admits_the_installed_and_an_older_minor():
    import tomllib
    from importlib.metadata import version

    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    for r in reqs:
        exact = [s for s in r.specifier if s.operator in ("==", "===") and "*" not in s.version]
        assert not exact, f"{r}: an exact pin; declare the range the code is tested with"
    torch_req = next(r for r in reqs if r.name == "torch")
    installed = Version(version("torch"))
    assert torch_req.specifier.contains(installed, prereleases=True), (torch_req, installed)
    older = Version(f"{installed.major}.{installed.minor - 1}.0")
    assert installed.minor >= 1 and torch_req.specifier.contains(older), (torch_req, older)
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert makefile.index("pip install -q torch==2.13.0") < makefile.index("pip install -q -e")
