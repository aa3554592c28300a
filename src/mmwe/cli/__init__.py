"""The ``mmwe`` command: a thin typer shell over the library (``mmwe.cli.app`` holds the app and ``main``).

Each module below registers the commands of one area, in data-flow order.
"""

import mmwe.cli.analogies  # noqa: F401
from mmwe.cli import corpus, demo, evaluate, features, maps, mnno, report, reproduce, train, triplets, vectors  # noqa: F401
from mmwe.cli.app import app, main

__all__ = ["app", "main"]
