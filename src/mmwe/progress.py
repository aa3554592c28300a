"""The progress protocol of the library: long operations call ``progress(done, total, what)``.

The library never draws anything: the CLI turns the calls into a progress bar (``mmwe.cli.console``), tests and
notebooks pass any callable, and ``None`` means :func:`no_progress`. ``total`` is None when unknown.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, "int | None", str], None]


def no_progress(done: int, total: int | None, what: str) -> None:
    """The progress callback that reports nothing."""


def part(progress: Progress | None, *, start: int = 0, total: int | None = None,
         what: str | None = None) -> Progress | None:
    """``progress`` as one part of a longer task sees it: ``start`` added to every ``done``; ``total`` and ``what``,
    where given, replace the part's own (None stays None)."""
    if progress is None:
        return None

    def report(done: int, part_total: int | None, part_what: str) -> None:
        progress(start + done, part_total if total is None else total, part_what if what is None else what)

    return report
