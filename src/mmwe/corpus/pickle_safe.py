"""Reading pickled metadata (the released Pinterest40M ``pin_2016_v1_*.npy`` shards) without running code.

A pickle can name any importable function and call it (``os.system``...). ``RestrictedUnpickler.find_class``
therefore admits no real global at all except ``set``/``frozenset`` and a latin-1-only stand-in for
``_codecs.encode`` (how Python 3 writes ``bytes`` at protocol 2). The three numpy globals that an object array
pickle needs (``_reconstruct``, ``ndarray``, ``dtype``) are answered with inert local stubs that only record the
list of objects: numpy itself is never called. ``.npy`` headers are parsed here (``ast.literal_eval`` on the
header dict) instead of by ``np.load(allow_pickle=True)``.

Python 2 ``str`` values arrive as ``bytes`` (``encoding="bytes"``); callers decode them as UTF-8 and count a
failure as a bad record.
"""

from __future__ import annotations

import ast
import io
import os
import pickle
import struct
from pathlib import Path
from typing import Any, BinaryIO

from mmwe.errors import MmweError

NPY_MAGIC = b"\x93NUMPY"


class _DtypeStub:
    """Stands for ``numpy.dtype(...)``: keeps its arguments, does nothing."""

    def __init__(self, *args):
        self.args = args

    def __setstate__(self, state):
        self.state = state


class _ArrayStub:
    """Stands for an object ``numpy.ndarray``: ``__setstate__`` receives (version, shape, dtype, fortran, data)."""

    def __init__(self, *args):
        self.items: list = []

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("unexpected ndarray state")
        data = state[-1]
        if not isinstance(data, list):  # a numeric array: raw bytes, not Python objects
            raise pickle.UnpicklingError("expected an object array (list of Python objects), got raw array data")
        self.items = data


def _reconstruct(cls, shape, typecode):
    return _ArrayStub()


def _codecs_encode(text, encoding="utf-8"):
    """What Python 3 pickles ``bytes`` as at protocol <= 2: ``_codecs.encode(str, 'latin1')``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("refusing _codecs.encode with other than (str, 'latin1')")
    return text.encode("latin1")


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _ArrayStub,
    ("numpy", "dtype"): _DtypeStub,
    ("_codecs", "encode"): _codecs_encode,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,  # Python 2 names (find_class sees them before fix_imports would map them)
    ("__builtin__", "frozenset"): frozenset,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler for plain data: containers, strings, numbers and numpy object arrays (as lists)."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}") from None


def restricted_load(fh: BinaryIO, *, path: str | os.PathLike | None = None) -> Any:
    """Unpickle plain data from ``fh``; anything that would import or call code raises ``MmweError``."""
    try:
        obj = RestrictedUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, struct.error, UnicodeDecodeError, OverflowError, MemoryError) as exc:
        # OverflowError / MemoryError: a FRAME or BINBYTES opcode claiming an absurd length (a few bytes suffice)
        raise MmweError(f"expected a pickle of plain data (dicts, lists, strings), got: {exc}; "
                        "only open pickles from a source you trust", path=path) from None
    return _unstub(obj)


def restricted_loads(data: bytes, *, path: str | os.PathLike | None = None) -> Any:
    return restricted_load(io.BytesIO(data), path=path)


def _unstub(obj: Any) -> Any:
    """An object array stub becomes the plain list of its items (C order, i.e. as stored)."""
    return obj.items if isinstance(obj, _ArrayStub) else obj


def read_npy_header(fh: BinaryIO, *, path: str | os.PathLike | None = None) -> dict:
    """Parse the header of an open ``.npy`` file positioned at 0; leaves ``fh`` at the payload."""
    magic = fh.read(8)
    if len(magic) < 8 or magic[:6] != NPY_MAGIC:
        raise MmweError("expected a .npy file (magic \\x93NUMPY), got other bytes", path=path)
    major = magic[6]
    if major == 1:
        (hlen,) = struct.unpack("<H", fh.read(2))
    elif major in (2, 3):
        (hlen,) = struct.unpack("<I", fh.read(4))
    else:
        raise MmweError(f"expected .npy format version 1-3, got {major}", path=path)
    raw = fh.read(hlen)
    try:
        header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin1"))
    except (ValueError, SyntaxError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict) or not {"descr", "shape"} <= header.keys():
        raise MmweError("expected a .npy header dict with 'descr' and 'shape', got an unreadable header", path=path)
    return header


def load_pickled_objects(path: str | os.PathLike) -> Any:
    """The objects in an object-array ``.npy`` (as a list) or in a plain pickle file, loaded restrictedly."""
    p = Path(path)
    with open(p, "rb") as fh:
        if fh.read(6) != NPY_MAGIC:
            fh.seek(0)
            return restricted_load(fh, path=p)
        fh.seek(0)
        header = read_npy_header(fh, path=p)
        if "O" not in str(header["descr"]):
            raise MmweError(f"expected an object array (descr '|O'), got descr {header['descr']!r}; "
                            "this .npy holds numbers, not pickled records", path=p)
        return restricted_load(fh, path=p)
