"""`mmwe vectors convert|info`: convert word-vector files between formats and inspect them."""

from __future__ import annotations

from typing import Optional

import numpy as np
import typer

from mmwe.cli import app
from mmwe.cli._common import print_json

vectors_app = typer.Typer(help="Read, convert and inspect word-vector files.", no_args_is_help=True)
app.add_typer(vectors_app, name="vectors")

_FMT_HELP = "word2vec | word2vec-binary | glove | npy (fasttext = word2vec)"


@vectors_app.command("convert")
def convert(
    src: str = typer.Argument(..., metavar="IN", help="Vector file or built-in name (glove-6b-50d)."),
    dst: str = typer.Argument(..., metavar="OUT", help="Output file; .gz suffix gzips the text formats."),
    from_fmt: Optional[str] = typer.Option(None, "--from", help=f"Input format (default: detected). {_FMT_HELP}"),
    to_fmt: Optional[str] = typer.Option(None, "--to", help=f"Output format (default: from OUT's suffix). {_FMT_HELP}"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Keep only the first N vectors."),
) -> None:
    """Convert a word-vector file to another format (written atomically)."""
    from mmwe.fileio import check_output_path
    from mmwe.vectors import load, save

    if limit is not None and limit < 1:  # checked here rather than by typer, whose usage errors are several lines
        from mmwe.errors import MmweError

        raise MmweError(f"--limit: expected an integer >= 1, got {limit}")
    check_output_path(dst)  # fail before a long read
    vecs = load(src, fmt=from_fmt, limit=limit)
    save(vecs, dst, fmt=to_fmt)
    typer.echo(f"wrote {len(vecs)} vectors x {vecs.dim} dims to {dst}")


@vectors_app.command("info")
def info(
    path: str = typer.Argument(..., help="Vector file or built-in name (glove-6b-50d)."),
    json_out: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
    show: int = typer.Option(10, "--show", help="How many first words to list."),
) -> None:
    """Print the size, format, first words and norm summary of a vector file."""
    if show < 0:  # checked here rather than by typer, whose usage errors are several lines
        from mmwe.errors import MmweError

        raise MmweError(f"--show: expected an integer >= 0, got {show}")
    report = vectors_info(path, show=show)
    if json_out:
        print_json(report)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"vectors: {path}", show_header=False)
    for key, value in report.items():
        if isinstance(value, dict):
            value = "  ".join(f"{k}={v:.4g}" for k, v in value.items())
        elif isinstance(value, list):
            value = " ".join(value)
        table.add_row(key, str(value))
    Console().print(table)


def vectors_info(path: str, *, show: int = 10) -> dict:
    """The facts `info` prints, as a plain dict."""
    from mmwe.vectors import detect_format, load

    fmt, gz = detect_format(path)
    vecs = load(path)
    norms = np.linalg.norm(vecs.matrix.astype(np.float64), axis=1)  # (V,)
    return {
        "path": path,
        "format": fmt + (" (gzip)" if gz else ""),
        "words": len(vecs),
        "dim": vecs.dim,
        "first_words": vecs.words[:show],
        "norms": {"min": float(norms.min()), "mean": float(norms.mean()), "median": float(np.median(norms)),
                  "max": float(norms.max())},
        "zero_vectors": int((norms == 0).sum()),
    }
