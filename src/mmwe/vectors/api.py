"""`load`, `save` and `detect_format`: the format of a vector file from its name or first bytes, then its reader."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

from mmwe.errors import MmweError
from mmwe.fileio import atomic_write
from mmwe.vectors.binary import binary_chunks, load_binary
from mmwe.vectors.builtin import BUILTIN_VECTORS, load_builtin
from mmwe.vectors.common import BAD_WORD_TEXT, BOM, UNICODE_ERRORS, check_finite, check_words, parse_header
from mmwe.vectors.config import ConvertConfig, InfoConfig
from mmwe.vectors.container import Vectors, describe
from mmwe.vectors.npy import load_npy, save_npy
from mmwe.vectors.text import load_text, text_chunks

FORMATS = ("word2vec", "word2vec-binary", "glove", "npy")
_ALIASES = {"fasttext": "word2vec", "vec": "word2vec", "text": "word2vec", "txt": "word2vec", "bin": "word2vec-binary",
            "binary": "word2vec-binary"}
_GZIP_MAGIC = b"\x1f\x8b"
_NPY_MAGIC = b"\x93NUMPY"
_NUMBER_CHARS = frozenset(b"0123456789.+-eEnaifNAIFty \t\r")  # what may follow a word in a text line



def load(path_or_name: str | os.PathLike, *, fmt: str | None = None, limit: int | None = None,
         unicode_errors: str = "strict") -> Vectors:
    """Read word vectors from a file (format auto-detected unless ``fmt``) or a built-in name.

    ``limit`` keeps the first ``limit`` vectors (and skips reading/validating the rest, like gensim).
    ``unicode_errors`` ("strict", "replace" or "ignore", as in ``bytes.decode``) handles words that are not
    valid UTF-8 in every file format. Words that become equal (or empty) that way are refused like any others.
    Any problem with the file raises one ``MmweError`` naming the file and line.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise MmweError(f"limit must be a positive integer, got {limit!r}")
    if unicode_errors not in UNICODE_ERRORS:
        raise MmweError(f"unicode_errors must be one of {', '.join(UNICODE_ERRORS)}; got {unicode_errors!r}")
    fmt = _normalize_fmt(fmt)
    name = os.fspath(path_or_name)
    if name in BUILTIN_VECTORS and not os.path.exists(name):
        return load_builtin(name, limit)
    path = Path(name)
    if not path.is_file():
        known = ", ".join(BUILTIN_VECTORS)
        what = "is a folder" if path.is_dir() else "not found"
        raise MmweError(f"vector file {what}; expected a file or a built-in name ({known})", path=path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(_NPY_MAGIC) or (fmt == "npy" and not head.startswith(_GZIP_MAGIC)):
        return load_npy(path, limit, unicode_errors)
    gz = head.startswith(_GZIP_MAGIC)
    buf, complete = _read_data(path, gz, limit, fmt)
    if not complete:  # a prefix holding `limit` lines; blank lines or an error there: read it all
        try:
            vecs = _load_bytes(buf, str(path), fmt, limit, unicode_errors)
            if len(vecs) == limit:
                return vecs
        except MmweError:
            pass
        buf, _ = _read_data(path, gz, None, fmt)
    return _load_bytes(buf, str(path), fmt, limit, unicode_errors)


def save(vectors: Vectors, path: str | os.PathLike, *, fmt: str | None = None) -> None:
    """Write ``vectors`` atomically; ``fmt`` in FORMATS, else inferred from the suffix.

    ``.txt``/``.vec`` -> word2vec text, ``.bin`` -> word2vec binary, ``.npy`` -> npy + ``<stem>.words.txt``,
    ``.gz`` -> gzip of the format named by the inner suffix (word2vec text by default).
    """
    path = Path(path)
    compress = path.suffix == ".gz"
    fmt = _normalize_fmt(fmt) or _fmt_from_suffix(path)
    if len(vectors) == 0:
        raise MmweError("no vectors to write", path=path)
    if fmt == "npy":
        if compress:
            raise MmweError("npy output cannot be gzipped; fix: drop the .gz suffix", path=path)
        return save_npy(vectors, path)
    check_finite(vectors, path)
    check_words(vectors, BAD_WORD_TEXT, "contains whitespace, which separates fields in this format", path)
    # Written chunk by chunk: the encoded file is never held whole (text is ~2.3x the matrix, and building it at
    # once peaked at 1.9 GiB for GloVe 400k x 50), so memory stays the matrix plus one chunk.
    chunks = binary_chunks(vectors) if fmt == "word2vec-binary" else text_chunks(vectors, header=fmt == "word2vec")
    with atomic_write(path, "wb") as fh:
        if compress:
            with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=6, mtime=0) as gz:
                for chunk in chunks:
                    gz.write(chunk)
        else:
            for chunk in chunks:
                fh.write(chunk)


def detect_format(path_or_name: str | os.PathLike) -> tuple[str, bool]:
    """(format, gzipped) of a vector file from its first bytes; ("builtin", False) for a built-in name."""
    name = os.fspath(path_or_name)
    if name in BUILTIN_VECTORS and not os.path.exists(name):
        return "builtin", False
    path = Path(name)
    if not path.is_file():
        raise MmweError("vector file not found", path=path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    gz = head.startswith(_GZIP_MAGIC)
    if gz:
        try:
            with gzip.open(path, "rb") as fh:
                head = fh.read(1 << 16)
        except (OSError, EOFError, zlib.error) as exc:
            raise MmweError(f"not a readable gzip file ({exc})", path=path) from None
    if head.startswith(_NPY_MAGIC):
        return "npy", gz
    return _sniff(head), gz


def _normalize_fmt(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    f = _ALIASES.get(fmt.lower(), fmt.lower())
    if f not in FORMATS:
        raise MmweError(f"unknown vector format {fmt!r}; expected one of {', '.join(FORMATS)} (or fasttext)")
    return f


def _fmt_from_suffix(path: Path) -> str:
    suffix = Path(path.stem).suffix if path.suffix == ".gz" else path.suffix
    if suffix == ".bin":
        return "word2vec-binary"
    if suffix == ".npy":
        return "npy"
    return "word2vec"  # .txt, .vec and anything else: the most widely read text format


def _sniff(head: bytes) -> str:
    """word2vec / word2vec-binary / glove from the first bytes (after any BOM) of an uncompressed file."""
    head = head[len(BOM):] if head.startswith(BOM) else head
    nl = head.find(b"\n")
    first = head[: nl if nl >= 0 else len(head)]
    header = parse_header(first)
    if header is None:
        return "glove"
    rest = head[nl + 1:] if nl >= 0 else b""
    rest = rest.lstrip(b"\n")
    sp = rest.find(b" ")
    if sp < 0:
        return "word2vec"
    # Text: the bytes after the first word, up to the line end, spell numbers. Binary: raw float32 bytes.
    window = rest[sp + 1: sp + 1 + 4 * header[1]]
    end = window.find(b"\n")
    window = window[: end if end >= 0 else len(window)]
    # A text line holds at least one digit after the word; binary bytes may start with b"\n" (an empty window).
    return "word2vec" if set(window) <= _NUMBER_CHARS and any(48 <= c <= 57 for c in window) else "word2vec-binary"


def _read_data(path: Path, gz: bool, limit: int | None, fmt: str | None) -> tuple[bytes, bool]:
    """(bytes, complete): the whole (decompressed) file, or with a limit on a text file only the first lines."""
    chunks: list[bytes] = []
    lines, size = 0, 1 << 20
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            while chunk := fh.read(size):
                chunks.append(chunk)
                lines += chunk.count(b"\n")
                size = min(2 * size, 1 << 26)
                if limit is not None and lines > limit + 1 and (fmt or _sniff(chunks[0])) != "word2vec-binary":
                    data = b"".join(chunks)
                    return data[: data.rfind(b"\n") + 1], False
    except (OSError, EOFError, zlib.error) as exc:
        what = "gzip data is damaged or truncated" if gz else "cannot read the file"
        raise MmweError(f"{what} ({exc}); fix: re-download or re-create the file", path=path) from None
    return b"".join(chunks), True


def _load_bytes(buf: bytes, path: str, fmt: str | None, limit: int | None, errors: str = "strict") -> Vectors:
    if buf.startswith(_NPY_MAGIC):
        raise MmweError("a gzipped .npy is not supported; fix: gunzip it first", path=path)
    start = len(BOM) if buf.startswith(BOM) else 0
    if not buf[start: start + 4096].strip() and not buf[start:].strip():  # full scan only for a blank head
        raise MmweError("file is empty; expected word vectors (word2vec/GloVe text, word2vec binary or .npy)",
                        path=path, line=1)
    fmt = fmt or _sniff(buf[start: start + (1 << 16)])
    if fmt == "word2vec-binary":
        return load_binary(buf, start, path, limit, errors)
    if fmt == "npy":
        raise MmweError("expected a .npy file (it starts with \\x93NUMPY), got other data", path=path)
    return load_text(buf, start, path, header=fmt == "word2vec", limit=limit, errors=errors)



def convert_file(cfg: ConvertConfig) -> Vectors:
    """``mmwe vectors convert``: read ``cfg.src`` and write it to ``cfg.dst`` (atomically) in another format."""
    vecs = load(cfg.src, fmt=cfg.from_fmt, limit=cfg.limit, unicode_errors=cfg.unicode_errors)
    save(vecs, cfg.dst, fmt=cfg.to_fmt)
    return vecs


def describe_file(cfg: InfoConfig) -> dict:
    """``mmwe vectors info``: the path, its format (and gzip), then `describe` of its vectors."""
    fmt, gz = detect_format(cfg.path)
    vecs = load(cfg.path, unicode_errors=cfg.unicode_errors)
    return {"path": cfg.path, "format": fmt + (" (gzip)" if gz else ""), **describe(vecs, show=cfg.show)}
