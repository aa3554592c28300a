"""The progress protocol of the library: long operations call ``progress(done, total, what)``.

The library never draws anything: the CLI turns the calls into a progress bar (``mmwe.cli.console``), tests and
notebooks pass any callable, and ``None`` means :func:`no_progress`. ``total`` is None when unknown.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, "int | None", str], None]


def no_progress(done: int, total: int | None, what: str) -> None:
    """The progress callback that reports nothing."""
