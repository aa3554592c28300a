"""`mmwe vectors convert|info|visual`: convert word-vector files, inspect them, and make visual word vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmwe.cli.app import group
from mmwe.cli.console import bar_callback, print_json, print_table, progress_bar
from mmwe.cli.options import at_least, out_option, unicode_errors_option
from mmwe.fileio import check_output_path, lock_output
from mmwe.vectors import FORMATS, describe, detect_format, load, save

vectors_app = group("vectors", "Read, convert and inspect word-vector files.")
_FORMATS = f"{' | '.join(FORMATS)} (fasttext = word2vec)"
_IN = "Vector file or built-in name (glove-6b-50d)."


@vectors_app.command("convert")
def convert(
    src: Annotated[str, typer.Argument(metavar="IN", help=_IN)],
    dst: Annotated[str, typer.Argument(metavar="OUT", help="Output file; .gz suffix gzips the text formats.")],
    from_fmt: Annotated[str | None, typer.Option("--from", help=f"Input format (default: found): {_FORMATS}")] = None,
    to_fmt: Annotated[str | None, typer.Option("--to", help=f"Output format (default: by suffix): {_FORMATS}")] = None,
    limit: Annotated[int | None, typer.Option(help="Keep only the first N vectors.")] = None,
    unicode_errors: Annotated[str, unicode_errors_option()] = "strict",
) -> None:
    """Convert a word-vector file to another format (written atomically)."""
    at_least("--limit", limit, 1)
    check_output_path(dst)  # fail before a long read
    lock_output(dst)  # a second run writing the same OUT refuses (released when `main` returns)
    vecs = load(src, fmt=from_fmt, limit=limit, unicode_errors=unicode_errors)
    save(vecs, dst, fmt=to_fmt)
    typer.echo(f"wrote {len(vecs)} vectors x {vecs.dim} dims to {dst}")


@vectors_app.command("info")
def info(
    path: Annotated[str, typer.Argument(help=_IN)],
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    show: Annotated[int, typer.Option(help="How many first words to list.")] = 10,
    unicode_errors: Annotated[str, unicode_errors_option()] = "strict",
) -> None:
    """Print the size, format, first words and norm summary of a vector file."""
    at_least("--show", show, 0)
    fmt, gz = detect_format(path)
    vecs = load(path, unicode_errors=unicode_errors)
    report = {"path": path, "format": fmt + (" (gzip)" if gz else ""), **describe(vecs, show=show)}
    if json:
        return print_json(report)
    fmt_value = {dict: lambda d: "  ".join(f"{k}={v:.4g}" for k, v in d.items()), list: " ".join}
    print_table(f"vectors: {path}", ["", ""], [(k, fmt_value.get(type(v), str)(v)) for k, v in report.items()],
                header=False)


@vectors_app.command("visual")
def visual(
    corpus: Annotated[str, typer.Argument(help="Corpus folder (see `mmwe corpus build`).")],
    out: Annotated[str, out_option("Output vector file (any format `vectors convert` writes, by suffix).")],
    features: Annotated[str, typer.Option(help="Feature file, or a model name: CORPUS/features/NAME.npy.")]
    = "efficientnet-lite0",
    min_images: Annotated[int, typer.Option(help="Drop words described by fewer images (counted).")] = 3,
    aggregate: Annotated[str, typer.Option(help="mean, or max (element-wise, Kiela & Bottou 2014).")] = "mean",
    stopwords: Annotated[bool, typer.Option("--stopwords", help="Keep stopwords (dropped by default).")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON.")] = False,
) -> None:
    """Visual word vectors: a word's vector is the mean (or max) feature of the images whose description has it."""
    from mmwe.datasets.visual_words import visual_word_vectors

    at_least("--min-images", min_images, 1)
    path = features if Path(features).suffix else str(Path(corpus) / "features" / f"{features}.npy")
    check_output_path(out)
    with progress_bar(disable=json) as bar:
        vecs, stats = visual_word_vectors(corpus, path, min_images=min_images, aggregate=aggregate,
                                          stopwords=stopwords, progress=bar_callback(bar))
    save(vecs, out)
    if json:
        return print_json({"output": out, **stats})
    print_table(f"visual word vectors -> {out}", ["", ""],
                [(k, v) for k, v in stats.items() if not isinstance(v, dict)], header=False)
