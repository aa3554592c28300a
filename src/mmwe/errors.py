"""The one user-facing error type of mmwe.

Raise ``MmweError`` at the boundary (file readers, CLI arguments) for anything the user can fix.
Word it expected / got / fix, and name the file and line when there is one. The CLI prints it as a
single line and exits with status 2; any other exception is an internal error (status 1).
"""

from __future__ import annotations

import os


class MmweError(Exception):
    """A problem with the user's input, reported as one line.

    >>> str(MmweError("expected 50 values, got 49", path="v.txt", line=3))
    'v.txt:3: expected 50 values, got 49'
    """

    exit_code = 2

    def __init__(self, message: str, *, path: str | os.PathLike | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        return where + " ".join(self.message.split("\n"))
