"""What the CLI draws: the one progress bar (stderr), tables that fit the terminal, JSON on stdout.

The library reports progress through ``mmwe.progress.Progress`` callbacks; ``bar_callback`` turns one into a bar.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from mmwe.fileio import json_ready
from mmwe.progress import Progress as ProgressCallback

_STATE = {"quiet": False}  # set from --quiet before a command runs


def set_quiet(value: bool) -> None:
    _STATE["quiet"] = value


def quiet() -> bool:
    """True under ``--quiet``: no progress bars (results and errors still print)."""
    return _STATE["quiet"]


def progress_bar(*, disable: bool = False) -> Progress:
    """A transient bar on stderr with elapsed time and ETA; off under --quiet, with ``disable`` (e.g. --json) and
    when stderr is not a terminal (a log or a pipe would only get its escape codes)."""
    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, transient=True,
                    disable=disable or quiet() or not console.is_terminal)


def bar_callback(bar: Progress) -> ProgressCallback:
    """A ``progress(done, total, what)`` callback drawing one task on ``bar``."""
    task = bar.add_task("", total=None)

    def update(done: int, total: int | None, what: str) -> None:
        bar.update(task, completed=done, total=total, description=escape(what))

    return update


def print_json(obj: Any) -> None:
    """Machine-readable output on stdout (numpy values made plain, NaN printed as null)."""
    sys.stdout.write(json.dumps(json_ready(obj), indent=2) + "\n")


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
                header: bool = True) -> None:
    """A table on stdout that never crops, abbreviates or drops a cell: cells wrap at spaces (and fold only
    words over 24 characters), and a table that cannot fit the terminal is printed wider than it."""
    cells = [[Text("-" if v is None else str(v)) for v in row] for row in rows]
    table = Table(title=title, show_header=header)
    for i, name in enumerate(columns):
        longest = max((len(w) for row in cells for w in row[i].plain.split()), default=1)
        table.add_column(Text(name), min_width=max(len(name) if header else 1, min(longest, 24)), overflow="fold",
                         justify="left" if i == 0 else "right")
    for row in cells:
        table.add_row(*row)
    console = Console()
    needed = Console(width=10_000).measure(table).minimum
    (console if needed <= console.width else Console(width=needed)).print(table)


def print_summary(items: Iterable[Any]) -> None:
    """What a command prints (``mmwe.report.commands.Printout``): lines and tables, in order."""
    for item in items:
        if isinstance(item, str):
            sys.stdout.write(item + "\n")
        else:
            print_table(item.title, item.columns, item.rows, header=item.header)
