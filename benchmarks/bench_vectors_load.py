"""Load time of text word vectors: gensim ``KeyedVectors.load_word2vec_format`` vs ``mmwe.vectors.load``.

Writes the built-in GloVe 6B 50d (first --rows words) to temporary word2vec-text and GloVe-text (no header)
files, then times both readers on the same file in one run and prints the times and the ratio.
    .venv/bin/python benchmarks/bench_vectors_load.py [--rows 400000] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def _best_of(fn, repeats: int) -> tuple[float, float, object]:
    """(best wall seconds, best CPU seconds of this process, all threads, last result)."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.process_time() - c)
    return best, best_cpu, out


def bench(rows: int, repeats: int, gensim_repeats: int) -> list[dict]:
    from gensim.models import KeyedVectors

    from mmwe.vectors import load, save

    ref = load("glove-6b-50d", limit=rows)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, no_header in (("word2vec", False), ("glove", True)):
            path = Path(tmp) / f"vectors.{fmt}.txt"
            save(ref, path, fmt=fmt)
            t_gensim, c_gensim, kv = _best_of(
                lambda path=path, no_header=no_header: KeyedVectors.load_word2vec_format(path, no_header=no_header),
                gensim_repeats)
            t_mmwe, c_mmwe, vecs = _best_of(lambda path=path: load(path), repeats)
            assert vecs.words == list(kv.index_to_key) and np.array_equal(vecs.matrix, kv.vectors)
            results.append({"format": fmt, "rows": len(ref), "dim": ref.dim, "bytes": path.stat().st_size,
                            "gensim_s": t_gensim, "mmwe_s": t_mmwe, "speedup": t_gensim / t_mmwe,
                            "gensim_cpu_s": c_gensim, "mmwe_cpu_s": c_mmwe, "cpu_speedup": c_gensim / c_mmwe})
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=400_000, help="words to write and read (max 400000)")
    ap.add_argument("--repeats", type=int, default=3, help="mmwe timings: best of N")
    ap.add_argument("--gensim-repeats", type=int, default=1, help="gensim timings: best of N (slow)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    results = bench(args.rows, args.repeats, args.gensim_repeats)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'format':<10} {'rows x dim':>12} {'MB':>7} {'gensim s':>9} {'mmwe s':>8} {'speedup':>8}"
          f" {'gensim cpu':>11} {'mmwe cpu':>9} {'cpu ratio':>9}")
    for r in results:
        print(f"{r['format']:<10} {r['rows']:>7} x {r['dim']:<3} {r['bytes'] / 1e6:>7.1f} {r['gensim_s']:>9.2f} "
              f"{r['mmwe_s']:>8.2f} {r['speedup']:>7.1f}x {r['gensim_cpu_s']:>11.2f} {r['mmwe_cpu_s']:>9.2f} "
              f"{r['cpu_speedup']:>8.1f}x")
    print("(wall: best of the repeats; cpu: process CPU time, all threads; the machine's other load inflates both)")


if __name__ == "__main__":
    main()
