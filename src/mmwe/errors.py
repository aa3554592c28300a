"""The one user-facing error type of mmwe.

Raise ``MmweError`` at the boundary (file readers, CLI arguments) for anything the user can fix.
Word it expected / got / fix, and name the file and line when there is one. The CLI prints it as a
single line and exits with status 2; any other exception is an internal error (status 1).
"""

from __future__ import annotations

import contextlib
import errno as _errno
import os
import re
import shutil


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


# errnos that mean "the place you asked me to write to cannot take it": the user's to fix, never a traceback
_WRITE_ERRNOS = {
    "ENOSPC": "no space left on device", "EDQUOT": "disk quota exceeded", "EFBIG": "file too large for this disk",
    "EROFS": "read-only file system", "EACCES": "permission denied", "EPERM": "operation not permitted",
    "EIO": "input/output error", "ENAMETOOLONG": "file name too long",
}
_FULL = ("ENOSPC", "EDQUOT", "EFBIG")


def errno_name(exc: OSError) -> str | None:
    """'ENOSPC' for an OSError with errno 28; 'ENOSPC' too for numpy's short write ("N requested and M written"),
    which carries no errno; None otherwise."""
    if exc.errno is not None:
        return _errno.errorcode.get(exc.errno)
    return "ENOSPC" if " requested and " in str(exc) and "written" in str(exc) else None


def is_write_fault(exc: BaseException) -> bool:
    """An OSError that the disk or the folder caused (full, quota, read-only, permissions, I/O)."""
    return isinstance(exc, OSError) and errno_name(exc) in _WRITE_ERRNOS


def _partial_of(path: str) -> tuple[str, str] | None:
    """(final output, its .NAME.partial folder) when ``path`` is, or lies inside, a resumable partial folder."""
    parts = os.path.normpath(path).split(os.sep)
    for i in range(len(parts) - 1, -1, -1):
        name = parts[i]
        if name.startswith(".") and name.endswith(".partial") and len(name) > len(".partial") + 1:
            parent = os.sep.join(parts[:i]) or ("/" if path.startswith("/") else ".")
            return os.path.join(parent, name[1:-len(".partial")]), os.path.join(parent, name)
    return None


def _free(path: str) -> str:
    d = path
    while d and not os.path.isdir(d):
        d = os.path.dirname(d)
    try:
        free = shutil.disk_usage(d or ".").free
    except OSError:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if free < 1024 or unit == "GB":
            return f" ({free:.0f} {unit} free there)" if unit == "bytes" else f" ({free:.1f} {unit} free there)"
        free /= 1024
    return ""


class OutputError(MmweError):
    """An output that could not be written: a full disk, a quota, a read-only folder, no permission.

    One line naming the output and what to do; whether a resumable ``.NAME.partial`` folder was kept is checked
    when the message is printed (the writer may remove it while the error propagates).

    >>> e = OutputError.from_os_error(OSError(30, "Read-only file system"), "/ro/x.npy")
    >>> str(e).split(";")[0]
    '/ro/x.npy: cannot write it: read-only file system (EROFS)'
    """

    def __init__(self, message: str, *, path: str | os.PathLike | None = None, errno_name: str | None = None):
        self.errno_name = errno_name
        super().__init__(message, path=path)

    @classmethod
    def from_os_error(cls, exc: OSError, path: str | os.PathLike | None = None) -> OutputError:
        name = errno_name(exc) or "?"
        where = os.fspath(path) if path is not None else (exc.filename and os.fspath(exc.filename))
        partial = _partial_of(where) if where else None
        shown = partial[0] if partial else where
        what = _WRITE_ERRNOS.get(name, exc.strerror or str(exc))
        if name in _FULL:
            fix = f"fix: free space on that disk{_free(where or '.')} or choose an output on another disk"
        elif name in ("EROFS", "EACCES", "EPERM"):
            fix = "fix: choose an output folder you can write to (or change its permissions)"
        else:
            fix = "fix: check the disk, then run the same command again"
        inside = f" (writing {where})" if partial and where != partial[1] else ""
        err = cls(f"cannot write it: {what} ({name}){inside}; {fix}", path=shown, errno_name=name)
        err.partial = partial[1] if partial else None
        return err

    def __str__(self) -> str:
        partial = getattr(self, "partial", None)
        if partial and os.path.isdir(partial) and not os.listdir(partial):
            with contextlib.suppress(OSError):  # nothing finished in it: no folder left behind
                os.rmdir(partial)
        run = next((d for d in (self.path, os.path.dirname(self.path or "")) if d and os.path.isdir(
            os.path.join(d, "checkpoints"))), None)  # a training run folder (mmwe train)
        if partial and os.path.isdir(partial):
            note = f"the finished part is kept in {partial}: the same command resumes from it"
        elif run:
            note = f"the run folder {run} keeps its finished files and checkpoints: the same command resumes"
        else:
            note = "no output was left half-written (outputs are renamed into place only when complete)"
        return f"{self.format()}; {note}"


_LIBRARY_KEYWORD = re.compile(r"unicode_errors=(['\"])(\w+)\1")


def user_message(exc: BaseException, argv: list[str] | None = None) -> str | None:
    """The one line the command line prints for ``exc`` (after "mmwe: error: "), None for an internal error.

    MmweError as it is (the library's ``unicode_errors='replace'`` spelled as the commands' flag); an OSError that
    the disk or folder caused as ``OutputError``, naming its file, else the command's ``--out`` (writes through an
    open file carry no name).
    """
    if isinstance(exc, MmweError):
        return _LIBRARY_KEYWORD.sub(r"--unicode-errors \2", str(exc))
    if not is_write_fault(exc):
        return None
    where = exc.filename
    args = list(argv or [])
    for i, a in enumerate(args[:-1] if where is None else []):
        where = args[i + 1] if a == "--out" else where
    return str(OutputError.from_os_error(exc, where))
