"""Per-epoch training time of the bridging losses against MSE on IAPR TC-12, side by side in one run.

Every loss trains the authors' maps of experiment 1 (``lin`` and ``nn`` 512-ReLU, batch 128, Adam, the T->I
direction: 64-d text -> 128-d image) on the 1,570 rows of one training fold, ``--epochs`` epochs without a
validation split; the time of an epoch is the median over epochs 2.. (wall, and CPU time of the process, which
is steadier on a shared machine). The graph loss's one-off set-up (Y's exact K-NN graph of the training rows)
is timed apart. Target: graph and neighbourhood <= 3x MSE per epoch.

    .venv/bin/python benchmarks/bench_bridge.py [--data-dir ../shared/data/iaprtc12] [--epochs 6] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

from mmwe.datasets.iaprtc12 import load_iaprtc12
from mmwe.experiments.collell import CollellConfig, kfold_indices, map_config, sides
from mmwe.maps import MapConfig, fit_map, knn_graph
from mmwe.threads import thread_limit

LOSSES = {"mse": "mse", "neighbourhood": "neighbourhood", "graph": "graph", "infonce": "infonce",
          "similarity": "similarity", "infonce+graph": "infonce=1,graph=3", "mse+adversarial": "mse=1,adversarial=0.1"}
TARGET = 3.0
DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "iaprtc12"


def epoch_seconds(X, Y, cfg: MapConfig) -> tuple[float, float]:
    """(median wall, median CPU) seconds of epochs 2..cfg.epochs of fit_map."""
    marks = [(time.perf_counter(), time.process_time())]

    def on_epoch(epoch, hist):
        marks.append((time.perf_counter(), time.process_time()))

    fit_map(X, Y, cfg, on_epoch=on_epoch)
    walls = [b[0] - a[0] for a, b in zip(marks[1:], marks[2:])]
    cpus = [b[1] - a[1] for a, b in zip(marks[1:], marks[2:])]
    return statistics.median(walls), statistics.median(cpus)


def bench(data_dir: str, epochs: int) -> dict:
    data = load_iaprtc12(data_dir)
    X, Y = sides(data, "T->I")
    test = kfold_indices(len(X), 5, 0)[0]
    keep = [i for i in range(len(X)) if i not in set(test.tolist())]
    X, Y = X[keep], Y[keep]
    t = time.perf_counter()
    knn_graph(torch.from_numpy(Y), 10)
    out = {"rows": len(X), "epochs": epochs, "threads": torch.get_num_threads(),
           "graph_setup_s": time.perf_counter() - t, "loss": {}}
    for model in ("lin", "nn"):
        base = map_config(data, "T->I", model, CollellConfig(dataset="iaprtc12"), 0)
        for name, spec in LOSSES.items():
            cfg = MapConfig(**{**base.to_dict(), "loss": spec, "epochs": epochs, "val_fraction": 0.0})
            wall, cpu = epoch_seconds(X, Y, cfg)
            out["loss"].setdefault(name, {})[model] = {"wall_s": wall, "cpu_s": cpu}
    for per in out["loss"].values():
        for model, r in per.items():
            mse = out["loss"]["mse"][model]
            r["wall_ratio"], r["cpu_ratio"] = r["wall_s"] / mse["wall_s"], r["cpu_s"] / mse["cpu_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("MMWE_IAPR_DIR", str(DEFAULT_DIR)))
    ap.add_argument("--epochs", type=int, default=6, help="epochs per loss (the first is not timed)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the experiment uses 1)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = ap.parse_args()
    if not Path(args.data_dir).exists():
        print(f"skipped: IAPR TC-12 not found at {args.data_dir} (set MMWE_IAPR_DIR)")
        return
    with thread_limit(args.threads):
        r = bench(args.data_dir, max(args.epochs, 3))
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"IAPR TC-12 T->I, {r['rows']} training rows, batch 128, {r['threads']} thread(s), median of epochs "
          f"2..{r['epochs']}; graph set-up (exact 10-NN of Y, once per fit): {r['graph_setup_s'] * 1e3:.1f} ms")
    print(f"{'loss':<17}{'lin ms/epoch':>14}{'x MSE':>8}{'(CPU)':>8}{'nn ms/epoch':>14}{'x MSE':>8}{'(CPU)':>8}")
    for name, per in r["loss"].items():
        cells = "".join(f"{per[m]['wall_s'] * 1e3:14.1f}{per[m]['wall_ratio']:8.2f}{per[m]['cpu_ratio']:8.2f}"
                        for m in ("lin", "nn"))
        print(f"{name:<17}{cells}")
    worst = max(r["loss"][n][m]["cpu_ratio"] for n in ("graph", "neighbourhood") for m in ("lin", "nn"))
    print(f"graph / neighbourhood vs MSE, worst CPU-time ratio: {worst:.2f} (target <= {TARGET:g}): "
          f"{'met' if worst <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
