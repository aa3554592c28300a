"""Small file helpers shared by every writer: atomic output and friendly path checks."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np

from mmwe.errors import MmweError


def check_output_path(path: str | os.PathLike) -> Path:
    """Fail early, with a clear message, when an output cannot be written where asked."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise MmweError(f"output folder {parent} does not exist; create it first", path=p)
    if p.is_dir():
        raise MmweError("output path is a folder; give a file name", path=p)
    return p


def _umask_mode() -> int:
    """The mode an ordinary ``open(path, "w")`` would give a new file: 0o666 less the process umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place on success.

    A crash or an exception leaves either the previous complete file or none: never a partial one.
    """
    p = check_output_path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent if str(p.parent) else ".")
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _umask_mode())  # mkstemp creates 0600; outputs get the usual permissions
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path for writers that want a file name (np.save, pyarrow); rename on success."""
    p = check_output_path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp" + "".join(p.suffixes), dir=p.parent if str(p.parent) else ".")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def json_ready(obj: Any, *, drop_private: bool = False) -> Any:
    """A copy that ``json.dump`` accepts: NaN -> None, numpy scalars and arrays -> Python, at any depth.

    ``drop_private`` leaves out dict keys starting with "_" (in-memory extras of a result, not results).
    """
    if isinstance(obj, dict):
        return {str(k): json_ready(v, drop_private=drop_private) for k, v in obj.items()
                if not (drop_private and str(k).startswith("_"))}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v, drop_private=drop_private) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return None if obj != obj else float(obj)
    return obj
