"""Sharded feature extraction: images/s of `extract_corpus` with 1 process and with N processes, side by side.

Real images: the first --images OpenMoji emoji of the built-in corpus (SVG rasterised, EfficientNet-Lite0 through
ONNX Runtime). Each process gets an equal share of the cores (1 process: all of them; N: cores / N threads each),
so the comparison is at equal hardware; runs are interleaved per repeat and the median is reported. Time is wall
time of the whole call, spawning the worker processes and merging the parts included.

    .venv/bin/python benchmarks/bench_features_parts.py [--images 512] [--processes 2] [--repeats 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import numpy as np

    from mmwe.corpus.build import build_corpus
    from mmwe.vision.extract import FeatureConfig, extract_corpus, partial_dir

    cores = len(os.sched_getaffinity(0))
    work = Path(tempfile.mkdtemp(prefix="mmwe-bench-parts-"))
    try:
        build_corpus(["openmoji"], work / "c")
        base = FeatureConfig(model="efficientnet-lite0", backend="onnx", limit=args.images, batch_size=32,
                             cache_dir=str(work / "cache"))
        variants = {"1 process": replace(base, num_threads=cores),
                    f"{args.processes} processes": replace(base, processes=args.processes,
                                                           num_threads=max(1, cores // args.processes))}
        extract_corpus(work / "c", replace(base, limit=32))  # ONNX export and caches, outside the timing
        times: dict[str, list[float]] = {k: [] for k in variants}
        mats = {}
        for r in range(args.repeats):
            for name, cfg in variants.items():
                part = partial_dir(work / f"{r}-{name.replace(' ', '_')}.npy")
                t0 = time.perf_counter()
                run = extract_corpus(work / "c", cfg, partial=part)
                times[name].append(time.perf_counter() - t0)
                mats[name] = run.matrix
                shutil.rmtree(part, ignore_errors=True)
        same = np.array_equal(*mats.values()) if len(mats) == 2 else None
        res = {name: {"images_per_s": args.images / statistics.median(t), "seconds": statistics.median(t)}
               for name, t in times.items()}
        one, many = res["1 process"], res[f"{args.processes} processes"]
        out = {"cores": cores, "images": args.images, "results": res,
               "ratio": many["images_per_s"] / one["images_per_s"], "bit_identical": same}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for name, r in res.items():
            print(f"{name:>12}: {r['images_per_s']:7.1f} images/s ({r['seconds']:.1f} s for {args.images})")
        print(f"ratio {out['ratio']:.2f}x on {cores} cores; features bit-identical: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
