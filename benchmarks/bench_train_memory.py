"""Peak memory of `mmwe train` as the corpus grows: the memory-mapped path (`--memmap`) vs the in-memory baseline.

The stress corpora are generated from real data: every sentence is a caption of the built-in OpenMoji corpus (its
CLDR name + keywords, drawn at random) and every image's features are a real EfficientNet-Lite0 row of an
OpenMoji image (drawn at random); 8 sentences per image (Pinterest40M has 7.5), 1% of the images in the val split.
Each size is written once under --work (Parquet shards in the corpus layout, features as .npy + keys).

Each run is a whole `mmwe train` process (the CLI, as a user runs it) of Model A with 1,000 SGD steps; the parent
samples /proc/PID/status every 0.1 s for its peak resident set (VmHWM: anonymous memory *and* the file pages it
has touched; os.wait4's ru_maxrss is also printed, but it counts this script's own pages from before exec) and
for the peak of anonymous memory alone (RssAnon: what the process owns; file pages of a memory map are shared
and dropped under pressure).
Reported per run: peak RSS, peak RssAnon, wall time of the whole process, and seconds per 1,000 steps
(metrics.json: train_seconds / steps). The memmap path is run twice: "cold" builds the cache beside the
corpus, "warm" reuses it.

    .venv/bin/python benchmarks/bench_train_memory.py [--sizes 100000,1000000] [--source OPENMOJI_CORPUS]
        [--work runs/bench-memory] [--paths memory,memmap|warm] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SENTENCES_PER_IMAGE = 8
TRAIN_ARGS = ["--model", "A", "--emb-dim", "64", "--proj", "64", "--hidden", "128", "--negatives", "256",
              "--batch-size", "128", "--lr", "0.5", "--min-count", "5", "--max-steps", "1000", "--epochs", "1000",
              "--patience", "1000", "--checkpoint-every", "0", "--log-every", "500", "--device", "cpu", "--json"]


def source_data(source: str | None, work: Path) -> tuple[list[str], np.ndarray]:
    """(captions, (N, 1280) features) of the OpenMoji corpus (built under --work when --source is not given)."""
    from mmwe.corpus import iter_records
    from mmwe.vision.store import load_features

    if source:
        corpus, feats = Path(source), Path(source) / "features" / "efficientnet-lite0.npy"
    else:
        from mmwe.experiments.mao import prepare_corpus

        corpus, feats = prepare_corpus("openmoji", work / "openmoji")
    captions = [s for r in iter_records(corpus) for s in r.sentences]
    _, matrix = load_features(feats)
    return captions, matrix


def make_stress_corpus(out: Path, n_sentences: int, captions: list[str], matrix: np.ndarray, seed: int = 0) -> Path:
    """A corpus folder of ``n_sentences`` sentences (see the module doc); skipped when it already exists."""
    if (out / "manifest.json").is_file():
        return out
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "shards").mkdir(parents=True)
    (tmp / "features").mkdir()
    rng = np.random.default_rng(seed)
    n_img = -(-n_sentences // SENTENCES_PER_IMAGE)
    cap = np.array(captions, dtype=object)
    shards, per_shard = [], 250_000  # images per shard
    keys_fh = open(tmp / "features" / "efficientnet-lite0.keys.txt", "w", encoding="utf-8")
    feats = np.lib.format.open_memmap(tmp / "features" / "efficientnet-lite0.npy", mode="w+", dtype=np.float32,
                                      shape=(n_img, matrix.shape[1]))
    for part, lo in enumerate(range(0, n_img, per_shard)):
        hi = min(lo + per_shard, n_img)
        keys = [f"img{i:09d}" for i in range(lo, hi)]
        per = np.full(hi - lo, SENTENCES_PER_IMAGE)
        if hi == n_img and n_sentences % SENTENCES_PER_IMAGE:
            per[-1] = n_sentences % SENTENCES_PER_IMAGE
        picks = cap[rng.integers(0, len(cap), int(per.sum()))]
        sentences = np.split(picks, np.cumsum(per)[:-1])
        split = np.where(rng.random(hi - lo) < 0.01, "val", "train")
        name = f"shards/part-{part:05d}.parquet"
        pq.write_table(pa.table({"image": keys, "image_path": pa.nulls(hi - lo, pa.string()),
                                 "sentences": [list(s) for s in sentences], "split": split.tolist()}),
                       tmp / name, compression="zstd")
        shards.append({"file": name, "records": hi - lo})
        feats[lo:hi] = matrix[rng.integers(0, len(matrix), hi - lo)]
        keys_fh.writelines(k + "\n" for k in keys)
    keys_fh.close()
    feats.flush()
    del feats
    manifest = {"format": "mmwe-corpus", "version": 1, "shards": shards,
                "note": f"bench_train_memory stress corpus: {n_sentences} OpenMoji captions, OpenMoji feature rows"}
    (tmp / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    os.replace(tmp, out)
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            return next((int(x.split()[1]) for x in fh if x.startswith(key + ":")), 0)
    except OSError:
        return 0


def run_train(corpus: Path, out: Path, extra: list[str]) -> dict:
    """One `mmwe train` process: peak RSS (ru_maxrss), peak RssAnon (sampled), wall, seconds per 1,000 steps."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "mmwe", "--quiet", "train", str(corpus), *TRAIN_ARGS, *extra, "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    peak_anon, hwm = [0], [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak_anon[0] = max(peak_anon[0], _status_kb(proc.pid, "RssAnon"))
            hwm[0] = max(hwm[0], _status_kb(proc.pid, "VmHWM"))  # the process's own peak RSS since exec
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"mmwe train failed on {corpus}:\n{stderr.decode()[-2000:]}")
    m = json.loads(stdout)
    # ru_maxrss of a child also counts the pages of the forked parent before exec (this script's own ~1 GB):
    # VmHWM, sampled until exit, is the child's peak alone
    return {"peak_rss_mib": hwm[0] / 1024, "ru_maxrss_mib": usage.ru_maxrss / 1024,
            "peak_rss_anon_mib": peak_anon[0] / 1024, "wall_s": wall,
            "s_per_1000_steps": 1000 * m["train_seconds"] / max(m["steps"], 1), "steps": m["steps"],
            "train_examples": m["train_examples"], "vocab_size": m["vocab_size"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated sentence counts")
    ap.add_argument("--source", default=None, help="an OpenMoji corpus folder with features (default: build one)")
    ap.add_argument("--work", default="runs/bench-memory")
    ap.add_argument("--paths", default="memory,memmap",
                    help="memory (the baseline), memmap (cold then warm) and/or warm (reuse an earlier run's cache)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    work = Path(args.work)
    captions, matrix = source_data(args.source, work)
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        t = time.perf_counter()
        corpus = make_stress_corpus(work / f"stress-{n}", n, captions, matrix)
        gen = time.perf_counter() - t
        if "memmap" in args.paths.split(","):
            shutil.rmtree(corpus / "cache", ignore_errors=True)
        for path in args.paths.split(","):
            runs = {"memory": [("memory", [])], "warm": [("memmap warm", ["--memmap"])]}.get(
                path, [("memmap cold", ["--memmap"]), ("memmap warm", ["--memmap"])])
            for label, extra in runs:
                r = run_train(corpus, work / "runs" / f"{n}-{label.replace(' ', '-')}", extra)
                rows.append({"sentences": n, "path": label, "generate_s": gen, **r})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'sentences':>11} {'path':<12} {'peak RSS':>10} {'RssAnon':>10} {'wall':>8} {'s/1k steps':>10}")
    for r in rows:
        print(f"{r['sentences']:>11,} {r['path']:<12} {r['peak_rss_mib']:>7,.0f} MiB "
              f"{r['peak_rss_anon_mib']:>6,.0f} MiB {r['wall_s']:>7.1f}s {r['s_per_1000_steps']:>9.1f}s")
    base = {r["sentences"]: r for r in rows if r["path"] == "memory"}
    for r in rows:
        if r["path"] != "memory" and r["sentences"] in base:
            b = base[r["sentences"]]
            print(f"{r['sentences']:>11,} {r['path']}: {b['peak_rss_mib'] / r['peak_rss_mib']:.1f}x less peak RSS, "
                  f"{r['s_per_1000_steps'] / b['s_per_1000_steps']:.2f}x the time per 1,000 steps")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
