"""Small file helpers shared by every writer: atomic output, friendly path checks and output locks.

Faults (docs/reliability.md): an atomic writer that meets a full disk, a quota or a read-only folder raises
``OutputError`` (one line naming the output and what to do) after removing its temporary file; temporary files
left by a killed process (``.NAME.PID.XXXX.tmp``, PID no longer running) are removed by the next writer of NAME.
``lock_output`` keeps two runs from writing the same output: the second one refuses, naming the first.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from mmwe.devices import distributed_world
from mmwe.errors import MmweError, OutputError, is_write_fault

try:
    import fcntl  # POSIX: output locks
except ImportError:  # pragma: no cover - Windows: outputs are not locked
    fcntl = None


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _temp_for(p: Path, suffix: str) -> str:
    """A new temporary file beside ``p`` named .NAME.PID.XXXX.tmp; those of dead processes are removed first."""
    parent = p.parent if str(p.parent) else Path(".")
    prefix = f".{p.name}."
    for old in parent.glob(f"{glob_escape(prefix)}*.tmp*"):
        pid = old.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                old.unlink()
    fd, tmp = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}.", suffix=suffix, dir=parent)
    os.close(fd)
    return tmp


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters quoted."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _failed(exc: BaseException, p: Path) -> BaseException:
    """What a writer raises when writing ``p`` failed with ``exc``: a one-line OutputError for disk faults.

    Some writers hide the OSError: torch.save raises RuntimeError ("basic_ios::clear: iostream error", "unexpected
    pos") from its C++ stream. Such an error with less than 1 MiB left on the disk is taken for a full disk.
    """
    if is_write_fault(exc):
        return OutputError.from_os_error(exc, p)
    text = str(exc)
    if isinstance(exc, RuntimeError) and any(m in text for m in ("iostream error", "unexpected pos", "write")):
        with contextlib.suppress(OSError):
            st = os.statvfs(p.parent if str(p.parent) else ".")
            if st.f_bavail * st.f_frsize < 1 << 20:
                return OutputError.from_os_error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), p)
    return exc


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place on success.

    A crash or an exception leaves either the previous complete file or none: never a partial one. A full disk
    (or a read-only folder...) raises ``OutputError`` naming ``path``.
    """
    p = check_output_path(path)
    try:
        tmp = _temp_for(p, ".tmp")
    except OSError as exc:
        raise _failed(exc, p) from None
    try:
        with open(tmp, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _umask_mode())  # mkstemp creates 0600; outputs get the usual permissions
        os.replace(tmp, p)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        err = _failed(exc, p)
        if err is exc:
            raise
        raise err from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path for writers that want a file name (np.save, pyarrow); rename on success."""
    p = check_output_path(path)
    try:
        tmp = _temp_for(p, ".tmp" + "".join(p.suffixes))
    except OSError as exc:
        raise _failed(exc, p) from None
    try:
        yield Path(tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, p)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        err = _failed(exc, p)
        if err is exc:
            raise
        raise err from None


# -- output locks ------------------------------------------------------------------------------------------------
_LOCKS: dict[str, tuple[int, Path]] = {}  # resolved output -> (open lock file descriptor, lock file)


def lock_file(path: str | os.PathLike) -> Path:
    """The lock file of an output: .NAME.lock beside it."""
    p = Path(path)
    return p.parent / f".{p.name}.lock"


def lock_output(path: str | os.PathLike) -> Path:
    """Hold the lock of output ``path`` until ``release_output`` (or the process ends, however it ends).

    The lock is an ``flock`` on ``.NAME.lock`` beside the output, which holds the pid and command of its holder;
    the kernel drops it when the holder dies, so a stale lock file (SIGKILL, power cut) is simply taken over.
    A second process that asks for a held lock gets MmweError naming the holder. Re-entrant within a process.
    Under torchrun (WORLD_SIZE > 1) only rank 0 takes the lock: the ranks of one job share their output.
    """
    p = Path(path)
    key = str(p.absolute())
    other_rank = distributed_world().rank != 0
    if fcntl is None or other_rank or key in _LOCKS:
        return _LOCKS[key][1] if key in _LOCKS else lock_file(p)
    lock = lock_file(p)
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _failed(exc, p) from None
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise (_failed(exc, p) if is_write_fault(exc) else exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise MmweError(f"another mmwe run is writing this output ({holder}; lock {lock}); fix: wait for it "
                            "to end, or choose another --out", path=p) from None
        try:  # the holder may have removed the file between our open and our flock: lock the new one
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    info = {"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)[:300]}
    with contextlib.suppress(OSError):  # a full disk may refuse even these bytes: the flock still holds
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(info) + "\n").encode("utf-8"))
    _LOCKS[key] = (fd, lock)
    return lock


def _holder(fd: int) -> str:
    """'pid 123, started ..., command ...' from a lock file."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return f"pid {info['pid']}, started {info['started']}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "pid not yet recorded"


def release_output(path: str | os.PathLike | None = None) -> None:
    """Release the lock of ``path`` (every lock this process holds when None) and remove its lock file."""
    keys = list(_LOCKS) if path is None else [str(Path(path).absolute())]
    for key in keys:
        if key not in _LOCKS:
            continue
        fd, lock = _LOCKS.pop(key)
        with contextlib.suppress(OSError):
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                os.unlink(lock)  # while still locked: a waiting process re-checks the inode and retries
        os.close(fd)


atexit.register(release_output)


def decode_utf8(data: bytes, *, path: str) -> str:
    """``data`` as UTF-8 text (a BOM dropped); a bad byte is one error naming ``path`` and its line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MmweError(f"expected UTF-8 text, got byte 0x{data[exc.start]:02x}; re-save the file as UTF-8",
                        path=path, line=line) from None


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
