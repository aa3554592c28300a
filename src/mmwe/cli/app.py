"""The ``mmwe`` typer app, its global options, --help in data-flow order, and ``main`` (the entry point).

Command modules register on ``app``, or on a sub-command ``group(name, help)``. User errors (``MmweError``) and
disk faults (``mmwe.errors.user_message``) print one line and exit 2; anything else is an internal error.
"""

from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

from mmwe import __version__
from mmwe.cli.console import set_quiet
from mmwe.errors import MmweError, user_message
from mmwe.fileio import release_output

PANELS = {  # --help panels in data-flow order, with the top-level commands each lists
    "Corpus and features": ("corpus", "features", "classify"),
    "Training": ("train",),
    "Vectors and evaluation": ("vectors", "eval-words", "eval-analogies", "eval-triplets", "triplets"),
    "Maps and neighbours": ("map", "mnno"),
    "Reproductions and reports": ("reproduce", "report", "demo"),
}
_PANEL_OF = {name: panel for panel, names in PANELS.items() for name in names}
_QUIET = ("--quiet", "-q")


def _no_bool_metavars(cmd) -> None:
    """A flag takes no value: no "<bool>" beside it in --help (typer prints one), in every command of the tree."""
    get_params = cmd.get_params

    def params(ctx):
        found = get_params(ctx)
        for p in found:
            p.metavar = "" if getattr(p, "is_flag", False) else p.metavar
        return found

    cmd.get_params = params
    for sub in getattr(cmd, "commands", {}).values():
        _no_bool_metavars(sub)


class _Group(TyperGroup):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _no_bool_metavars(self)

    def list_commands(self, ctx):
        """Commands in their panel of PANELS, in that order."""
        names = super().list_commands(ctx)
        for name in names:
            self.commands[name].rich_help_panel = _PANEL_OF.get(name, "Other")
        return sorted(names, key=lambda n: list(_PANEL_OF).index(n) if n in _PANEL_OF else len(_PANEL_OF))


app = typer.Typer(name="mmwe", cls=_Group, help="Train, map and diagnose multimodal word embeddings.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def group(name: str, help: str) -> typer.Typer:
    """A sub-command group ``mmwe NAME ...``."""
    sub = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mmwe {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    quiet: bool = typer.Option(False, *_QUIET, help="No progress bars; also accepted after the command."),
) -> None:
    """Train, map and diagnose multimodal word embeddings."""
    set_quiet(quiet)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: one line and exit 2 for user errors, exit 1 for internal ones."""
    args = list(sys.argv[1:] if argv is None else argv)
    end = args.index("--") if "--" in args else len(args)
    quiet = any(a in _QUIET for a in args[:end])  # --quiet after the command too: moved to the front
    args = ["--quiet"] * quiet + [a for i, a in enumerate(args) if i >= end or a not in _QUIET]
    try:
        app(args=args, prog_name="mmwe")  # standalone: usage errors print and exit 2 by themselves
    except SystemExit as exc:  # typer ends even a successful run with SystemExit: hand back its code
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    except (MmweError, OSError) as exc:  # OSError: a full disk, a read-only folder... (others are internal errors)
        if (line := user_message(exc, args)) is None:
            raise
        print(f"mmwe: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mmwe: interrupted", file=sys.stderr)
        return 130
    finally:
        release_output()  # the --out locks (mmwe.fileio.lock_output)
    return 0
