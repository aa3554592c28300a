"""The ``mmwe`` command: a thin typer shell over the library.

Each sub-module of ``mmwe.cli`` registers the commands of one area on ``app`` (or adds a sub-app).
User errors (``MmweError``) print one line and exit 2; anything else is an internal error (exit 1).
"""

from __future__ import annotations

import importlib
import sys

import typer

from mmwe.errors import MmweError

app = typer.Typer(
    name="mmwe",
    help="Train, map and diagnose multimodal word embeddings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Areas, in data-flow order. A missing module (work in progress) must not break the others.
_AREAS = ["vectors", "evaluate", "mnno", "maps", "reproduce", "corpus", "features", "train", "triplets", "demo"]
for _name in _AREAS:
    try:
        importlib.import_module(f"mmwe.cli.{_name}")
    except ModuleNotFoundError as exc:  # only tolerate the area module itself being absent
        if exc.name != f"mmwe.cli.{_name}":
            raise


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: one line and exit 2 for user errors, exit 1 for internal ones."""
    try:
        app(args=argv, prog_name="mmwe")  # standalone: usage errors print and exit 2 by themselves
    except SystemExit as exc:  # typer ends even a successful run with SystemExit: hand back its code
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    except MmweError as exc:
        print(f"mmwe: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mmwe: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
