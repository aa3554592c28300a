"""`mmwe train`: train one language model of Mao et al. (NIPS 2016) on a corpus folder.

Data-parallel: ``torchrun --nproc_per_node=N --no-python mmwe train ...`` (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from mmwe.cli import app
from mmwe.cli import bar_callback, progress_bar
from mmwe.cli._common import print_json


@app.command("train")
def train(
    corpus: Annotated[str, typer.Argument(help="Corpus folder (manifest.json + shards/), see `mmwe corpus`.")],
    out: Annotated[str, typer.Option(help="Run folder: config, vocab, metrics, checkpoints, vectors.txt/.bin.")],
    model: Annotated[str, typer.Option(help="puretext, A (image initialises the GRU), B (final-state loss) "
                                            "or C (embedding loss).")] = "A",
    no_share: Annotated[bool, typer.Option("--no-share", help="Separate softmax weights (no transposed "
                                                              "weight sharing).")] = False,
    lam: Annotated[float, typer.Option("--lambda", help="Weight of the image loss of B and C.")] = 1.0,
    features: Annotated[Optional[str], typer.Option(help="Image features (.npy + .keys.txt); default "
                                                         "CORPUS/features/efficientnet-lite0.npy.")] = None,
    emb_dim: Annotated[int, typer.Option(help="Word embedding size.")] = 128,
    hidden: Annotated[int, typer.Option(help="GRU state size.")] = 512,
    proj: Annotated[int, typer.Option(help="FC layer after the GRU (= --emb-dim when sharing).")] = 128,
    negatives: Annotated[int, typer.Option(help="Sampled-softmax candidates per step (0: full softmax).")] = 1024,
    sampler: Annotated[str, typer.Option(help="Candidate distribution: log-uniform or log-count.")] = "log-uniform",
    batch_size: Annotated[int, typer.Option(help="Sentences per step (global, over all processes).")] = 256,
    lr: Annotated[float, typer.Option(help="SGD learning rate.")] = 1.0,
    clip: Annotated[float, typer.Option(help="Max global gradient norm (0: off).")] = 10.0,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 5,
    patience: Annotated[int, typer.Option(help="Epochs without lower validation loss before stopping.")] = 1,
    min_count: Annotated[Optional[int], typer.Option(help="Keep words seen at least this often "
                                                          "(default 51: 'more than 50 times').")] = None,
    max_len: Annotated[Optional[int], typer.Option(help="Truncate sentences to this many words.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of init, batch order and sampling.")] = 0,
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints (0: epoch ends only).")] = 1000,
    max_steps: Annotated[Optional[int], typer.Option(help="Stop after this many steps in total.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")] = False,
    init_vectors: Annotated[Optional[str], typer.Option(help="Initialise the embedding from a vector file "
                                                             "or glove-6b-50d.")] = None,
    init_mode: Annotated[str, typer.Option(help="pad or project vectors of another size.")] = "pad",
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for torch.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (no progress bar).")] = False,
) -> None:
    """Train a Mao et al. language model (puretext, A, B or C) and export its word embeddings."""
    from mmwe.lm import TrainConfig
    from mmwe.lm import train as run_train

    extra = {} if min_count is None else {"min_count": min_count}
    cfg = TrainConfig(model=model, share=not no_share, lam=lam, emb_dim=emb_dim, hidden=hidden, proj=proj,
                      negatives=negatives, sampler=sampler, batch_size=batch_size, lr=lr, clip=clip, epochs=epochs,
                      patience=patience, max_len=max_len, seed=seed, checkpoint_every=checkpoint_every,
                      max_steps=max_steps, resume=resume, init_vectors=init_vectors, init_mode=init_mode,
                      threads=threads, device=device, **extra)
    with progress_bar(disable=json) as bar:
        metrics = run_train(corpus, features, cfg, out, progress=bar_callback(bar))
    if os.environ.get("RANK", "0") != "0":  # under torchrun only rank 0 reports
        return
    if json:
        print_json(metrics)
        return
    table = Table(title=f"mmwe train: model {model}{' (no sharing)' if no_share else ''} -> {out}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("val_perplexity", "val_loss", "val_image_loss", "best_epoch", "epochs", "steps", "stopped",
                "tokens_per_s", "train_examples", "val_examples", "vocab_size", "skipped"):
        v = metrics.get(key)
        table.add_row(key, f"{v:,.3f}" if isinstance(v, float) else str(v))
    Console().print(table)
