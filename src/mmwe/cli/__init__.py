"""The ``mmwe`` command: a thin typer shell over the library (``mmwe.cli.app`` holds the app and ``main``).

Each module below registers the commands of one area, in data-flow order.
"""

from mmwe.cli import corpus, evaluate, reproduce, train, vectors  # noqa: F401
from mmwe.cli.app import app, main

__all__ = ["app", "main"]
