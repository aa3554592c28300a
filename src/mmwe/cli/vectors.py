"""`mmwe vectors convert|info`: convert word-vector files between formats and inspect them."""

from __future__ import annotations

from typing import Annotated

import typer

from mmwe.cli.app import group
from mmwe.cli.console import print_json, print_table
from mmwe.cli.options import at_least
from mmwe.fileio import check_output_path
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
) -> None:
    """Convert a word-vector file to another format (written atomically)."""
    at_least("--limit", limit, 1)
    check_output_path(dst)  # fail before a long read
    vecs = load(src, fmt=from_fmt, limit=limit)
    save(vecs, dst, fmt=to_fmt)
    typer.echo(f"wrote {len(vecs)} vectors x {vecs.dim} dims to {dst}")


@vectors_app.command("info")
def info(
    path: Annotated[str, typer.Argument(help=_IN)],
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    show: Annotated[int, typer.Option(help="How many first words to list.")] = 10,
) -> None:
    """Print the size, format, first words and norm summary of a vector file."""
    at_least("--show", show, 0)
    fmt, gz = detect_format(path)
    report = {"path": path, "format": fmt + (" (gzip)" if gz else ""), **describe(load(path), show=show)}
    if json:
        return print_json(report)
    fmt_value = {dict: lambda d: "  ".join(f"{k}={v:.4g}" for k, v in d.items()), list: " ".join}
    print_table(f"vectors: {path}", ["", ""], [(k, fmt_value.get(type(v), str)(v)) for k, v in report.items()],
                header=False)
