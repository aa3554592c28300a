"""`mmwe train`: one Mao et al. (2016) language model; ``torchrun --no-python mmwe train ...``: data-parallel."""

from mmwe.cli.app import app
from mmwe.cli.console import bar_callback, print_json, print_summary, progress_bar
from mmwe.cli.options import config_options
from mmwe.corpus import read_manifest
from mmwe.devices import distributed_world
from mmwe.lm.config import TrainConfig, TrainFiles
from mmwe.report.commands import train_printout


@app.command("train")
@config_options(TrainFiles, TrainConfig, flags={"lam": "--lambda"}, json="Print the summary as JSON (no progress bar).")
def train(cfg: TrainFiles, overrides: dict, json: bool) -> None:
    """Train a Mao et al. language model (puretext, A, B or C) and export its word embeddings."""
    read_manifest(cfg.corpus)  # not a corpus: say so before torch is imported
    from mmwe.lm import train as run_train  # torch

    settings = TrainConfig(**overrides).validate()
    with progress_bar(disable=json) as bar:
        metrics = run_train(cfg.corpus, cfg.features, settings, cfg.out, progress=bar_callback(bar)).metrics
    if distributed_world().rank == 0:  # under torchrun only rank 0 reports
        print_json(metrics) if json else print_summary(train_printout(metrics, settings, cfg.out))
