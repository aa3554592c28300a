"""`mmwe features` (image features of a corpus) and `mmwe classify` (ImageNet top-5 sanity check)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from mmwe.cli.app import app
from mmwe.cli.console import bar_counter, print_json, print_table, progress_bar
from mmwe.cli.options import at_least, config_options, out_option
from mmwe.fileio import check_output_path
from mmwe.vision.extract import (
    FeatureConfig,
    corpus_size,
    default_output,
    extract_corpus,
    make_extractor,
    partial_dir,
    write_run,
)
from mmwe.vision.images import load_image, to_model_input
from mmwe.vision.models import top_classes


@app.command("features")
@config_options("mmwe.vision.config:FeatureConfig", flags={"num_threads": "--threads"})
def features(
    corpus: Annotated[str, typer.Argument(help="Corpus folder (manifest.json + shards/*.parquet).")],
    out: Annotated[str | None, out_option("Output .npy (+ .keys.txt) or .parquet (default: "
                                          "CORPUS/features/MODEL.npy; MODEL-bin.npy if binarised).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
    overrides: dict | None = None,
) -> None:
    """Extract 1280-d pooled CNN features (EfficientNet-Lite0 or MobileNetV2) for every image of a corpus.

    Unreadable, truncated, oversized or missing images are skipped and counted by reason.

    Finished chunks are kept in .OUT.partial/ until the output is written: a run started again resumes.
    """
    cfg = replace(FeatureConfig(), **overrides).validate()
    total = corpus_size(corpus)  # also checks the folder early
    target = Path(out) if out else default_output(corpus, cfg)
    target.parent.mkdir(parents=True, exist_ok=True)
    check_output_path(target)
    with progress_bar(disable=json) as bar:
        run = extract_corpus(corpus, cfg, partial=partial_dir(target),
                             progress=bar_counter(bar, "images", min(total, cfg.limit or total)))
    write_run(target, run, cfg, corpus_dir=corpus)
    shutil.rmtree(partial_dir(target), ignore_errors=True)
    s = {"output": str(target), "model": cfg.model, "backend": cfg.backend, "binarized": cfg.binarize,
         "threshold": cfg.threshold if cfg.binarize else None, **run.summary()}
    if json:
        return print_json(s)
    rows = [("images with features", s["images"]), ("dimensions", s["dim"]),
            ("skipped", f"{s['skipped_total']}  {s['skipped'] or ''}"),
            ("fraction of ones" if cfg.binarize else "fraction > 0", s["fraction_positive"]),
            ("images / s", s["images_per_second"]), ("output", s["output"])]
    print_table(f"{cfg.model} features ({cfg.backend})", ["", ""], rows, header=False)
    for ex in s["skipped_examples"]:
        typer.echo(f"skipped {ex['key']}: {ex['error']}", err=True)


@app.command("classify")
def classify(
    images: Annotated[list[str], typer.Argument(help="Image files (JPEG, PNG, SVG, ...).")],
    backend: Annotated[str, typer.Option(help="onnx or torch.")] = "torch",
    top: Annotated[int, typer.Option(help="Classes to show per image.")] = 5,
    cache_dir: Annotated[str | None, typer.Option(help="Where the ONNX export is cached.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Top ImageNet classes of images with the full EfficientNet-Lite0 classifier (checks the weights load)."""
    at_least("--top", top, 1)
    pixels = np.stack([to_model_input(load_image(p)) for p in images])  # (N, 224, 224, 3)
    ext = make_extractor("efficientnet-lite0", backend, cache_dir=cache_dir)  # type: ignore[arg-type]
    result = {p: [{"class": c, "p": round(pr, 4)} for c, pr in t]
              for p, t in zip(images, top_classes(ext.logits(pixels), top))}
    if json:
        return print_json(result)
    for p, rows in result.items():
        typer.echo(f"{Path(p).name}: " + " | ".join(f"{r['class']} {r['p']:.2f}" for r in rows))
