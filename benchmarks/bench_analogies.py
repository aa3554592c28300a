"""Word analogies on GloVe 6B 50d: the whole `mmwe eval-analogies` command vs gensim's evaluate_word_analogies.

One run times, on the Google set (19,544 questions) and the first --restrict-vocab words:

* mmwe, whole command: ``python -m mmwe eval-analogies glove-6b-50d --method M --restrict-vocab N --json`` in a
  child process (start-up, reading the 400k vectors and the evaluation);
* mmwe, in process: ``evaluate_analogies`` on vectors already in memory;
* gensim 4.4: ``KeyedVectors.evaluate_word_analogies`` on the same vectors already in memory (for 3CosMul its loop
  with ``most_similar_cosmul``, on the first N words: gensim's cosmul ignores restrict_vocab, so this is the same
  work and the same answers; over all 400k words it would be slower);
* the roofline: one float32 read pass (a row max) over the A x N scores of the A answerable questions against the
  N candidates, in the same blocks and threads: what any exhaustive scorer must at least touch.

Per-section counts of mmwe and gensim are checked equal. Ratios compare times of the same run (other jobs on the
machine inflate all of them).
    .venv/bin/python benchmarks/bench_analogies.py [--method 3cosadd|3cosmul|both] [--restrict-vocab 300000]
        [--sample K] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _question_file(aset, every: int, folder: str) -> Path:
    """The question set (every K-th question of each section) as a file both tools read."""
    path = Path(folder) / f"questions-every{every}.txt"
    path.write_text("".join(f": {s}\n" + "".join(" ".join(q) + "\n" for q in [
        q for q, k in zip(aset.questions, aset.section) if k == i][::every]) for i, s in enumerate(aset.sections)),
        encoding="utf-8")
    return path


def _roofline(n_questions: int, n: int, threads: int) -> float:
    """Seconds of one row-max pass over n_questions x n float32 scores, in 512 x 2048 blocks on ``threads``."""
    block = np.random.default_rng(0).standard_normal((512, 2048)).astype(np.float32)
    tasks = [(q, r) for q in range(0, n_questions, 512) for r in range(0, n, 2048)]

    def one(task):
        q, r = task
        return block[: min(512, n_questions - q), : min(2048, n - r)].max(axis=1)

    with ThreadPoolExecutor(threads) as pool:
        t, _ = _timed(lambda: list(pool.map(one, tasks)))
    return t


def _gensim(glove, qfile: Path, method: str, n: int) -> tuple[float, list[tuple[int, int]]]:
    from mmwe.vectors import Vectors

    kv = Vectors(glove.words[:n], glove.matrix[:n]).to_gensim() if method == "3cosmul" else glove.to_gensim()
    if method == "3cosmul":
        kv.most_similar = lambda positive, negative, topn, restrict_vocab: kv.most_similar_cosmul(
            positive=positive, negative=negative, topn=topn)
    kv.fill_norms()  # not timed: computed once per model
    t, (_, sections) = _timed(lambda: kv.evaluate_word_analogies(str(qfile), restrict_vocab=n))
    return t, [(len(s["correct"]), len(s["incorrect"])) for s in sections[:-1]]


def bench(method: str, n: int, every: int) -> dict:
    from mmwe.datasets.analogies import load_analogies
    from mmwe.metrics.analogies import evaluate_analogies
    from mmwe.vectors import load

    glove = load("glove-6b-50d")
    with tempfile.TemporaryDirectory() as tmp:
        qfile = _question_file(load_analogies("google"), every, tmp)
        cmd = [sys.executable, "-m", "mmwe", "eval-analogies", "glove-6b-50d", "--dataset", str(qfile), "--method",
               method, "--restrict-vocab", str(n), "--json", "--quiet"]
        t_cli, proc = _timed(lambda: subprocess.run(cmd, capture_output=True, text=True, check=True))
        cli_rows = json.loads(proc.stdout)
        t_lib, rows = _timed(lambda: evaluate_analogies(glove, load_analogies(qfile), method=method,
                                                        restrict_vocab=n))
        t_gensim, want = _gensim(glove, qfile, method, n)
    got = [(r["correct"], r["questions"] - r["skipped"] - r["correct"]) for r in rows[:-1]]
    assert got == want, f"mmwe {got} != gensim {want}"
    assert [r["correct"] for r in cli_rows] == [r["correct"] for r in rows]
    total = rows[-1]
    answered = total["questions"] - total["skipped"]
    t_roof = _roofline(answered, n, len(os.sched_getaffinity(0)))
    return {"method": method, "restrict_vocab": n, "questions": total["questions"], "answered": answered,
            "accuracy": total["accuracy"], "mmwe_command_s": t_cli, "mmwe_inprocess_s": t_lib,
            "gensim_s": t_gensim, "speedup_command": t_gensim / t_cli, "speedup_inprocess": t_gensim / t_lib,
            "roofline_pass_s": t_roof, "inprocess_vs_roofline": t_lib / t_roof, "equal_to_gensim": True}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="both", choices=["3cosadd", "3cosmul", "both"])
    ap.add_argument("--restrict-vocab", type=int, default=300000, help="the first N words (gensim's default)")
    ap.add_argument("--sample", type=int, default=1, help="every K-th question of each section (gensim is slow)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    logging.getLogger("gensim").setLevel(logging.WARNING)
    methods = ["3cosadd", "3cosmul"] if args.method == "both" else [args.method]
    results = [bench(m, args.restrict_vocab, args.sample) for m in methods]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'method':<8} {'N':>7} {'answered':>8} {'accuracy':>8} {'command s':>9} {'in-proc s':>9} "
          f"{'gensim s':>9} {'x command':>9} {'x in-proc':>9} {'roofline s':>10} {'in-proc/roof':>12}")
    for r in results:
        print(f"{r['method']:<8} {r['restrict_vocab']:>7} {r['answered']:>8} {r['accuracy']:>8.4f} "
              f"{r['mmwe_command_s']:>9.2f} {r['mmwe_inprocess_s']:>9.2f} {r['gensim_s']:>9.2f} "
              f"{r['speedup_command']:>8.1f}x {r['speedup_inprocess']:>8.1f}x {r['roofline_pass_s']:>10.3f} "
              f"{r['inprocess_vs_roofline']:>11.1f}x")
    print("(per-section counts equal to gensim's; x = gensim time / mmwe time, same run; roofline: one float32 "
          "read pass over the answered x N scores)")


if __name__ == "__main__":
    main()
