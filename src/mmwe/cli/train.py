"""`mmwe train`: train one language model of Mao et al. (NIPS 2016) on a corpus folder.

Data-parallel: ``torchrun --nproc_per_node=N --no-python mmwe train ...`` (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Annotated

import typer

from mmwe.cli.app import app
from mmwe.cli.console import bar_callback, print_json, print_table, progress_bar
from mmwe.cli.options import config_options, out_option
from mmwe.corpus import read_manifest

_SUMMARY = ("val_perplexity", "val_loss", "val_image_loss", "best_epoch", "epochs", "steps", "stopped", "tokens_per_s",
            "precision", "train_examples", "val_examples", "vocab_size", "skipped")


@app.command("train")
@config_options("mmwe.lm.config:TrainConfig", flags={"lam": "--lambda"})
def train(
    corpus: Annotated[str, typer.Argument(help="Corpus folder (manifest.json + shards/), see `mmwe corpus`.")],
    out: Annotated[str, out_option("Run folder: config, vocab, metrics, checkpoints, vectors.txt/.bin.")],
    features: Annotated[str | None, typer.Option(help="Image features (.npy + .keys.txt); default "
                                                      "CORPUS/features/efficientnet-lite0.npy.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (no progress bar).")] = False,
    overrides: dict | None = None,
) -> None:
    """Train a Mao et al. language model (puretext, A, B or C) and export its word embeddings."""
    read_manifest(corpus)  # not a corpus: say so before torch is imported
    from mmwe.lm import TrainConfig  # torch
    from mmwe.lm import train as run_train

    cfg = replace(TrainConfig(), **overrides).validate()
    with progress_bar(disable=json) as bar:
        metrics = run_train(corpus, features, cfg, out, progress=bar_callback(bar)).metrics
    if os.environ.get("RANK", "0") != "0":  # under torchrun only rank 0 reports
        return
    if json:
        return print_json(metrics)
    title = f"mmwe train: model {cfg.model}{'' if cfg.share else ' (no sharing)'} -> {out}"
    print_table(title, ["metric", "value"], [(k, f"{v:,.3f}" if isinstance(v, float) else v)
                                             for k, v in ((k, metrics.get(k)) for k in _SUMMARY)])
