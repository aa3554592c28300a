"""Small file helpers shared by every writer: atomic output and friendly path checks."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

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
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp" + "".join(p.suffixes),
                               dir=p.parent if str(p.parent) else ".")
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


_NPY_MAGIC = b"\x93NUMPY"


def read_npy(path: str | os.PathLike, *, name: str | None = None, mmap: bool = False) -> np.ndarray:
    """The array stored in a ``.npy`` file, never unpickled; one-line MmweError naming the file otherwise.

    ``name`` says what the file should hold, for messages (default "a .npy array"). ``mmap=True`` maps the
    file read-only instead of reading it. Shape, dtype and values are the caller's to check
    (``mmwe.validation.check_matrix``); here: a missing file, other data (empty, pickled, .npz, text), an object
    dtype (which needs pickle) and a truncated or damaged array.
    """
    p = Path(path)
    what = name or "a .npy array"
    if not p.is_file():
        raise MmweError(f"expected {what}, got {'a folder' if p.is_dir() else 'no such file'}; fix: check the path",
                        path=p)
    with open(p, "rb") as fh:
        head = fh.read(len(_NPY_MAGIC))
        dtype = _npy_header_dtype(fh) if head == _NPY_MAGIC else None
    if head != _NPY_MAGIC:
        raise MmweError(f"not a readable .npy file: expected {what} (data starting with \\x93NUMPY), got "
                        f"{_npy_impostor(head)}; fix: save the matrix with numpy.save", path=p)
    if dtype is not None and dtype.hasobject:
        raise MmweError(f"not a readable .npy file: expected numbers, got dtype {dtype}, which needs pickle, and "
                        "mmwe reads .npy files without pickle; fix: re-save it with "
                        "np.save(path, matrix.astype('float32'))", path=p)
    try:
        return np.load(p, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise MmweError(f"not a readable .npy file: expected {what}, got a truncated or damaged file "
                        f"({str(exc)[:160]}); fix: write it again with numpy.save", path=p) from None


def _npy_header_dtype(fh: IO[bytes]) -> np.dtype | None:
    """The dtype a .npy header declares (fh just after the magic string); None when it cannot be read here."""
    read_header = {1: np.lib.format.read_array_header_1_0, 2: np.lib.format.read_array_header_2_0}
    try:
        fh.seek(0)
        major, _minor = np.lib.format.read_magic(fh)
        return read_header[major](fh)[2] if major in read_header else None
    except Exception:  # a probe only: np.load reports whatever is wrong with the header
        return None


def _npy_impostor(head: bytes) -> str:
    """What a file that is not .npy seems to be, from its first bytes."""
    if not head:
        return "an empty file"
    if head.startswith(b"\x80"):
        return "pickled data (never unpickled)"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (.npz? save one matrix per .npy file)"
    return f"other data (first bytes {head!r})"
