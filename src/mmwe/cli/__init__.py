"""The ``mmwe`` command: a thin typer shell over the library.

Each sub-module of ``mmwe.cli`` registers the commands of one area on ``app`` (or adds a sub-app); ``--help``
groups them into panels (``_PANELS``). Global options: ``--version``, ``--quiet`` (no progress bars: long
operations draw theirs with ``progress_bar()``, which honours it).
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

_STATE = {"quiet": False}  # set by the global --quiet before any command runs


def quiet() -> bool:
    """True when ``mmwe --quiet ...`` asked for no progress output."""
    return _STATE["quiet"]


def progress_bar(*, disable: bool = False, transient: bool = True):
    """A rich progress bar on stderr with elapsed time and ETA; hidden under ``--quiet`` (or ``disable``).

    Use as ``with progress_bar() as bar: task = bar.add_task("what", total=n); bar.update(task, completed=i)``.
    """
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), transient=transient, disable=disable or quiet(),
                    console=Console(stderr=True))


def bar_callback(bar):
    """A ``(done, total, what)`` callback (the experiments' progress protocol) drawing one task on ``bar``."""
    task = bar.add_task("", total=None)

    def update(done: int, total: int | None, what: str) -> None:
        bar.update(task, completed=done, total=total, description=what)

    return update


def _version(value: bool) -> None:
    if value:
        from mmwe import __version__

        typer.echo(f"mmwe {__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    quiet_: bool = typer.Option(False, "--quiet", "-q", help="No progress bars (results and errors still print)."),
) -> None:
    """Train, map and diagnose multimodal word embeddings."""
    _STATE["quiet"] = quiet_


# Areas, in data-flow order. A missing module (work in progress) must not break the others.
_AREAS = ["vectors", "evaluate", "mnno", "maps", "reproduce", "corpus", "features", "train", "triplets", "report",
          "demo"]
for _name in _AREAS:
    try:
        importlib.import_module(f"mmwe.cli.{_name}")
    except ModuleNotFoundError as exc:  # only tolerate the area module itself being absent
        if exc.name != f"mmwe.cli.{_name}":
            raise

# --help panels, in data-flow order; a command not listed here lands in "Other".
_PANELS = {
    "Data and features": ("corpus", "features", "classify", "triplets"),
    "Vectors and evaluation": ("vectors", "eval-words", "eval-triplets", "mnno"),
    "Training and maps": ("train", "map"),
    "Reproductions and reports": ("reproduce", "report", "demo"),
}
_PANEL_OF = {name: panel for panel, names in _PANELS.items() for name in names}
for _info in [*app.registered_commands, *app.registered_groups]:
    _cmd = _info.name or (_info.callback.__name__.replace("_", "-") if _info.callback else "")
    _info.rich_help_panel = _PANEL_OF.get(_cmd, "Other")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: one line and exit 2 for user errors, exit 1 for internal ones."""
    _STATE["quiet"] = False  # main() may run several times in one process (tests)
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
