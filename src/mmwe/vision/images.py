"""Reading one image safely: raster formats through Pillow, SVG through resvg, as 224x224 RGB model input.

Safety rules (each refusal raises :class:`ImageError` with a short ``reason``; corpus extraction counts
them as skips):

* **Pixel limit** — a raster image's size is read from its header and refused when ``width * height >
  max_pixels`` *before* any pixel is decoded, so a 20000 x 20000 "decompression bomb" costs microseconds.
* **Byte limit** — files larger than ``max_bytes`` are not read at all.
* **Truncated / corrupt files** — refused (Pillow's ``LOAD_TRUNCATED_IMAGES`` stays off).
* **SVG external references** — an SVG is rendered from a string with every reference that is not
  document-local stripped first: ``href`` / ``xlink:href`` values other than ``#id`` and ``data:`` URIs
  become empty, and CSS ``url(...)`` values other than ``url(#id)`` / ``data:`` become ``none``. So nothing is
  fetched, neither over the network nor from the local disk (``file:`` URLs, absolute or relative paths).
  DTD entity declarations that name an external resource (``SYSTEM`` / ``PUBLIC``) are refused.

Transparent pixels are composited onto white (SVG and raster alike), so an emoji on a transparent canvas and
the same emoji exported on white give the same input.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import tarfile
import threading
import warnings
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps

from mmwe.errors import MmweError

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own MAX_IMAGE_PIXELS default (~ 9459 x 9459)
DEFAULT_MAX_BYTES = 100 * 2**20  # no corpus image legitimately needs more than 100 MiB
SVG_SUFFIXES = (".svg", ".svgz")
TAR_SEPARATOR = "::"  # corpus image_path "ARCHIVE.tar::member/name.jpg" (see mmwe.corpus.record)

ResizeMode = Literal["center-crop", "squash"]


class ImageError(MmweError):
    """An image that cannot (or must not) be decoded; ``reason`` is a short snake_case word for tallies."""

    def __init__(self, reason: str, message: str, *, path: str | os.PathLike | None = None):
        self.reason = reason
        super().__init__(message, path=path)


# -- reading bytes ---------------------------------------------------------------------------------------

# Tar members are read without sharing a file handle between threads (a shared TarFile seeks under another
# thread's read and loses members at random). An uncompressed archive is scanned once into an immutable index of
# member offsets; each read then opens the archive itself and reads ``size`` bytes at the member's offset. A
# compressed archive cannot be read at an offset: each thread keeps its own open TarFile for it.
_TarIndex = dict  # member name -> (data offset, size, is a regular file)
_TAR_INDEX: OrderedDict[tuple[str, int, int], _TarIndex | None] = OrderedDict()  # None: compressed archive
_TAR_LOCK = threading.Lock()
_TAR_LOCAL = threading.local()


def _archive_key(archive: str) -> tuple[str, int, int]:
    try:
        st = os.stat(archive)
    except OSError as exc:
        raise ImageError("missing_file", f"cannot open tar archive: {exc.strerror}", path=archive) from None
    return (os.path.abspath(archive), st.st_mtime_ns, st.st_size)


def _scan_tar(archive: str) -> _TarIndex | None:
    """The member index of an uncompressed tar, or None for a compressed one."""
    try:
        with open(archive, "rb") as fh:
            magic = fh.read(6)
        if magic[:2] == b"\x1f\x8b" or magic[:3] == b"BZh" or magic == b"\xfd7zXZ\x00":
            return None
        with tarfile.open(archive, "r:") as tf:
            return {m.name: (m.offset_data, m.size, m.isfile()) for m in tf.getmembers()}
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ImageError("missing_file", f"cannot open tar archive: {exc}", path=archive) from None


def _tar_index(archive: str) -> tuple[tuple[str, int, int], _TarIndex | None]:
    key = _archive_key(archive)
    with _TAR_LOCK:
        if key in _TAR_INDEX:
            _TAR_INDEX.move_to_end(key)
            return key, _TAR_INDEX[key]
    index = _scan_tar(archive)  # outside the lock: two threads may scan the same archive once each, harmlessly
    with _TAR_LOCK:
        _TAR_INDEX[key] = index
        while len(_TAR_INDEX) > 64:
            _TAR_INDEX.popitem(last=False)
    return key, index


def _compressed_member(key: tuple[str, int, int], archive: str, member: str) -> tuple[tarfile.TarInfo, tarfile.TarFile]:
    """This thread's own open TarFile of a compressed archive (a few kept per thread), and the member's info."""
    cache: OrderedDict = getattr(_TAR_LOCAL, "open", None) or OrderedDict()
    _TAR_LOCAL.open = cache
    tf = cache.get(key)
    if tf is None:
        try:
            tf = tarfile.open(archive, "r:*")
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise ImageError("missing_file", f"cannot open tar archive: {exc}", path=archive) from None
        cache[key] = tf
        while len(cache) > 4:
            cache.popitem(last=False)[1].close()
    cache.move_to_end(key)
    try:
        return tf.getmember(member), tf
    except KeyError:
        raise ImageError("missing_file", f"no member {member!r} in the archive", path=archive) from None


def _tar_member_bytes(archive: str, member: str, max_bytes: int) -> bytes:
    """Bytes of one member of a tar archive; safe to call from any number of threads at once."""
    key, index = _tar_index(archive)
    if index is None:
        info, tf = _compressed_member(key, archive, member)
        entry = (info.offset_data, info.size, info.isfile())
    elif member in index:
        entry = index[member]
    else:
        raise ImageError("missing_file", f"no member {member!r} in the archive", path=archive)
    offset, size, is_file = entry
    if not is_file:
        raise ImageError("missing_file", f"member {member!r} is not a regular file", path=archive)
    if size > max_bytes:
        raise ImageError("too_many_bytes", f"member {member!r} has {size} bytes, limit {max_bytes}", path=archive)
    try:
        if index is None:
            fh = tf.extractfile(info)
            data = fh.read() if fh is not None else b""
        else:
            with open(archive, "rb") as raw:
                data = os.pread(raw.fileno(), size, offset)
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise ImageError("unreadable", f"cannot read member {member!r}: {exc}", path=archive) from None
    if len(data) != size:
        raise ImageError("unreadable", f"member {member!r} is truncated ({len(data)} of {size} bytes)", path=archive)
    return data


def read_image_bytes(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Bytes of an image file, or of a tar member written ``ARCHIVE::MEMBER``; refuses files over ``max_bytes``."""
    spath = os.fspath(path)
    if TAR_SEPARATOR in spath and not os.path.exists(spath):  # a real file name may contain "::" too
        archive, member = spath.split(TAR_SEPARATOR, 1)
        return _tar_member_bytes(archive, member, max_bytes)
    try:
        size = os.path.getsize(spath)
        if size > max_bytes:
            raise ImageError("too_many_bytes", f"file has {size} bytes, limit {max_bytes}", path=spath)
        with open(spath, "rb") as fh:
            return fh.read()
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise ImageError("missing_file", f"cannot read the image: {exc.strerror}", path=spath) from None


# -- SVG -------------------------------------------------------------------------------------------------

_HREF = re.compile(r"""(\b(?:xlink:)?href\s*=\s*)(["'])(.*?)\2""", re.DOTALL | re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(.*?)\1\s*\)""", re.DOTALL | re.IGNORECASE)
_EXTERNAL_ENTITY = re.compile(r"<!ENTITY[^>]*\b(?:SYSTEM|PUBLIC)\b", re.IGNORECASE)


def _is_local_ref(value: str) -> bool:
    v = value.strip().lower()
    return v.startswith("#") or v.startswith("data:")


def sanitize_svg(text: str) -> tuple[str, int]:
    """SVG text with every non-local reference neutralised, and how many were stripped (see module doc)."""
    if _EXTERNAL_ENTITY.search(text):
        raise ImageError("bad_svg", "SVG declares an external entity (SYSTEM/PUBLIC); refused, nothing fetched")
    stripped = 0

    def href(m: re.Match) -> str:
        nonlocal stripped
        if _is_local_ref(m.group(3)):
            return m.group(0)
        stripped += 1
        return f"{m.group(1)}{m.group(2)}{m.group(2)}"

    def css(m: re.Match) -> str:
        nonlocal stripped
        if _is_local_ref(m.group(2)):
            return m.group(0)
        stripped += 1
        return "none"

    return _CSS_URL.sub(css, _HREF.sub(href, root_size_in_px(text))), stripped


_ROOT_SVG = re.compile(r"<svg\b[^>]*>", re.IGNORECASE)
_ABS_SIZE = re.compile(r"""(\s(?:width|height)\s*=\s*["'])\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)"""
                       r"""\s*(pt|pc|mm|cm|in)\s*(["'])""",
                       re.IGNORECASE)
_PX_PER = {"pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0}


def root_size_in_px(text: str) -> str:
    """The root <svg>'s width/height in absolute units (150pt, 30mm) rewritten in px (CSS: 96 px per inch):
    resvg_py 0.5 refuses absolute units there (2,219 openclipart/Tux Paint SVGs rendered nothing before)."""
    m = _ROOT_SVG.search(text)
    if m is None:
        return text
    tag = _ABS_SIZE.sub(lambda a: f"{a.group(1)}{float(a.group(2)) * _PX_PER[a.group(3).lower()]:.4f}{a.group(4)}",
                        m.group(0))
    return text[:m.start()] + tag + text[m.end():]


def _looks_like_svg(data: bytes, name: str) -> bool:
    if name.lower().endswith(SVG_SUFFIXES):
        return True
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in data[:4096].lower()


def rasterize_svg(data: bytes, *, size: int = 224, max_bytes: int = DEFAULT_MAX_BYTES, name: str = "") -> Image.Image:
    """Render SVG (or gzip'd SVGZ) bytes to a ``size`` x ``size`` RGB image on white, aspect kept (letterboxed)."""
    import resvg_py

    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                data = gz.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise ImageError("bad_svg", f"cannot gunzip the SVGZ: {exc}", path=name or None) from None
        if len(data) > max_bytes:
            raise ImageError("too_many_bytes", f"SVGZ expands past {max_bytes} bytes", path=name or None)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImageError("bad_svg", "SVG is not UTF-8 text", path=name or None) from None
    try:
        text, _ = sanitize_svg(text)
    except ImageError as exc:  # sanitize_svg sees only text: name the file here
        raise ImageError(exc.reason, exc.message, path=name or None) from None
    try:
        png = resvg_py.svg_to_bytes(svg_string=text, width=size, height=size)
    except (ValueError, RuntimeError, OSError) as exc:  # resvg reports parse errors as ValueError
        raise ImageError("bad_svg", f"cannot render the SVG: {exc}", path=name or None) from None
    im = Image.open(io.BytesIO(bytes(png)))
    im.load()
    return _letterbox(_on_white(im), size)


# -- raster ----------------------------------------------------------------------------------------------

def _on_white(im: Image.Image) -> Image.Image:
    """RGB image with any transparency composited onto white."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def _letterbox(im: Image.Image, size: int) -> Image.Image:
    """Centre a smaller image on a white ``size`` x ``size`` canvas (resvg keeps a non-square SVG's aspect)."""
    if im.size == (size, size):
        return im
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    return canvas


def _header_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header alone, with Pillow's bomb check off (nothing is decoded here)."""
    saved = Image.MAX_IMAGE_PIXELS
    try:
        # Brief, header only; a concurrent open() in another thread is still checked against max_pixels.
        Image.MAX_IMAGE_PIXELS = None
        return Image.open(io.BytesIO(data)).size
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def decode_raster(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, draft_size: int | None = None,
                  name: str = "") -> Image.Image:
    """Decode JPEG/PNG/GIF/WebP/... bytes to RGB; the pixel limit is checked on the header, before decoding."""
    where = name or None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we apply our own limit below
            im = Image.open(io.BytesIO(data))
        w, h = im.size
        if w * h > max_pixels:
            raise ImageError("too_many_pixels", f"image is {w} x {h} = {w * h} pixels, limit {max_pixels}; "
                             "not decoded", path=where)
        if draft_size and im.format == "JPEG":
            im.draft("RGB", (draft_size, draft_size))  # DCT-domain downscale: big photos decode ~4-8x faster
        im.load()
        im = ImageOps.exif_transpose(im)
    except Image.DecompressionBombError:  # Pillow's own hard limit (2x its MAX_IMAGE_PIXELS) hit in open()
        w, h = _header_size(data)
        raise ImageError("too_many_pixels", f"image is {w} x {h} = {w * h} pixels, limit {max_pixels}; "
                         "not decoded", path=where) from None
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as exc:  # UnidentifiedImageError is an OSError
        reason = "truncated" if "truncated" in str(exc) else "unreadable"
        raise ImageError(reason, f"cannot decode the image: {exc}", path=where) from None
    return _on_white(im)


def load_image(path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES,
               svg_size: int = 224) -> Image.Image:
    """An RGB ``PIL.Image`` from a raster file, an SVG (rendered at ``svg_size``), or ``ARCHIVE::MEMBER``.

    Raises :class:`ImageError` (an ``MmweError``) with ``.reason`` for anything refused or unreadable.
    """
    name = os.fspath(path)
    data = read_image_bytes(name, max_bytes=max_bytes)
    if _looks_like_svg(data, name):
        return rasterize_svg(data, size=svg_size, max_bytes=max_bytes, name=name)
    return decode_raster(data, max_pixels=max_pixels, draft_size=2 * svg_size, name=name)


def to_model_input(im: Image.Image, *, size: int = 224, resize: ResizeMode = "center-crop") -> np.ndarray:
    """(size, size, 3) uint8 array: ``center-crop`` scales the short side to ``size`` and crops the centre;
    ``squash`` scales both sides to ``size`` (aspect not kept)."""
    if im.size != (size, size):
        if resize == "center-crop":
            im = ImageOps.fit(im, (size, size), Image.Resampling.BICUBIC)
        else:
            im = im.resize((size, size), Image.Resampling.BICUBIC)
    arr = np.asarray(im.convert("RGB"), dtype=np.uint8)  # (H, W, 3)
    assert arr.shape == (size, size, 3)
    return arr


def resolve_image_path(image_path: str, base_dir: str | os.PathLike) -> str:
    """A corpus ``image_path`` made absolute: relative paths (and relative tar archives) are under ``base_dir``."""
    archive, sep, member = image_path.partition(TAR_SEPARATOR)
    if sep and Path(image_path).exists():  # a real file name containing "::"
        archive, sep, member = image_path, "", ""
    p = Path(archive)
    if not p.is_absolute():
        p = Path(base_dir) / p
    return str(p) + (sep + member if sep else "")
