"""`mmwe vectors convert|info|visual`: convert word-vector files, inspect them, and make visual word vectors."""

import typer

from mmwe.cli.app import group
from mmwe.cli.console import bar_callback, print_json, print_summary, progress_bar
from mmwe.cli.options import config_options
from mmwe.datasets.visual_words import VisualWordsConfig, write_visual_words
from mmwe.fileio import check_output_path, lock_output
from mmwe.report.commands import vectors_printout, visual_words_printout
from mmwe.vectors import convert_file, describe_file
from mmwe.vectors.config import ConvertConfig, InfoConfig

vectors_app = group("vectors", "Read, convert and inspect word-vector files.")


@vectors_app.command("convert")
@config_options(ConvertConfig)
def convert(cfg: ConvertConfig) -> None:
    """Convert a word-vector file to another format (written atomically)."""
    lock_output(check_output_path(cfg.dst))  # fail before a long read; a second run writing OUT refuses
    vecs = convert_file(cfg)
    typer.echo(f"wrote {len(vecs)} vectors x {vecs.dim} dims to {cfg.dst}")


@vectors_app.command("info")
@config_options(InfoConfig, json="Print machine-readable JSON.")
def info(cfg: InfoConfig, json: bool) -> None:
    """Print the size, format, first words and norm summary of a vector file."""
    report = describe_file(cfg)
    print_json(report) if json else print_summary(vectors_printout(report, cfg.path))


@vectors_app.command("visual")
@config_options(VisualWordsConfig, json="Print the statistics as JSON.")
def visual(cfg: VisualWordsConfig, json: bool) -> None:
    """Visual word vectors: a word's vector is the mean (or max) feature of the images whose description has it."""
    with progress_bar(disable=json) as bar:
        stats = write_visual_words(cfg, progress=bar_callback(bar))
    print_json({"output": cfg.out, **stats}) if json else print_summary(visual_words_printout(stats, cfg.out))
