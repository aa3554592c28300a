"""Corpus readers, one per source format, behind one small interface and a registry by name.

A reader is ``read(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]``. It streams (never
holds a whole large source in memory, COCO's single JSON aside), yields raw sentences, and counts every record
it cannot use in ``tally.bad(reason)`` instead of raising: missing sentences, non-UTF-8, over-long lines,
missing image files, unsafe tar members... Only problems with the source as a whole raise ``MmweError``.

Image references: ``image_path`` is an absolute file path, ``"TAR::MEMBER"`` for a webdataset member (never
extracted; see ``mmwe.corpus.open_image_bytes``), or None when the source only names the image (URL corpora).
"""

from __future__ import annotations

import gzip
import json
import os
import posixpath
import re
import tarfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow.parquet as pq

from mmwe.corpus.pickle_safe import load_pickled_objects
from mmwe.corpus.record import RawRecord, Tally
from mmwe.errors import MmweError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".svg")  # preference order within one key


@dataclass
class ReadOptions:
    """Options every reader understands (each uses the ones that apply to it)."""

    allow_pickle: bool = False  # pinterest .npy shards are pickles: an explicit opt-in is required
    image_root: str | None = None  # folder that relative image names are resolved against
    check_images: bool = True  # skip (and count) records whose named image file does not exist
    max_line_chars: int = 10_000  # a longer JSONL line or caption file is a bad record ("line_too_long")
    openmoji_style: str = "joined"  # openmoji only: "joined" (one sentence per emoji) or "separate"

    def as_dict(self) -> dict:
        return asdict(self)


ReadFn = Callable[[Path, ReadOptions, Tally], Iterator[RawRecord]]


@dataclass(frozen=True)
class ReaderSpec:
    """A registered reader: how to read, how to recognise its sources, and corpus-specific defaults."""

    name: str
    read: ReadFn
    detect: Callable[[Path], bool]  # True when an existing path looks like this reader's input
    description: str
    preprocess_defaults: dict = field(default_factory=dict)  # PreprocessConfig fields to change for this source
    split_defaults: dict = field(default_factory=dict)  # SplitConfig fields to change for this source
    builtin: bool = False  # the source is a name ("openmoji"), not a path


READERS: dict[str, ReaderSpec] = {}
# auto-detection tries these first: an img2dataset folder holds both .tar shards and .parquet metadata
_DETECT_ORDER = ("webdataset", "pinterest", "coco", "jsonl", "parquet", "folder")


def register_reader(name: str, *, detect: Callable[[Path], bool], description: str, **kw) -> Callable[[ReadFn], ReadFn]:
    def deco(fn: ReadFn) -> ReadFn:
        READERS[name] = ReaderSpec(name, fn, detect, description, **kw)
        return fn
    return deco


def get_reader(name: str) -> ReaderSpec:
    if name not in READERS:
        raise MmweError(f"expected a reader in {sorted(READERS)} or 'auto', got {name!r}")
    return READERS[name]


def detect_reader(source: str) -> ReaderSpec:
    """The reader for ``source``: a built-in corpus name, or the first reader whose ``detect`` accepts the path."""
    for spec in READERS.values():
        if spec.builtin and source == spec.name:
            return spec
    p = Path(source)
    if not p.exists():
        builtins = [s.name for s in READERS.values() if s.builtin]
        raise MmweError(f"expected an existing file/folder or a built-in corpus {builtins}, got {source!r}", path=p)
    order = [n for n in _DETECT_ORDER if n in READERS] + [n for n in READERS if n not in _DETECT_ORDER]
    for spec in (READERS[n] for n in order):
        if not spec.builtin and spec.detect(p):
            return spec
    raise MmweError("could not tell the format of this source; pass --reader "
                    f"({'|'.join(sorted(READERS))})", path=p)


# -- shared helpers -------------------------------------------------------------------------------------------
def _files(source: Path, patterns: tuple[str, ...]) -> list[Path]:
    """``source`` itself, or the files in the folder ``source`` matching ``patterns``, sorted."""
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise MmweError("expected an existing file or folder", path=source)
    found = sorted({f for pat in patterns for f in source.glob(pat) if f.is_file()})
    if not found:
        raise MmweError(f"expected files matching {list(patterns)} in this folder, found none", path=source)
    return found


def _has(source: Path, *patterns: str) -> bool:
    return source.is_dir() and any(next(source.glob(p), None) is not None for p in patterns)


def _decode(value: Any) -> str | None:
    """str as is, UTF-8 bytes decoded; None when not text or not UTF-8."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def record_fields(obj: Any) -> tuple[str, str | None, list[str]] | str:
    """(image, image_path, sentences) from a JSON/Parquet/pickle row, or the reason it is a bad record.

    Image key: ``image`` (or ``image_name``, ``key``, ``file_name``, ``url``). Sentences: ``sentences`` (a list
    of strings) or ``caption`` / ``text`` (one string). Keys and values may be bytes (Python 2 pickles).
    """
    if not isinstance(obj, dict):
        return "not_an_object"
    row = {(_decode(k) or ""): v for k, v in obj.items()}
    raw_key = next((row[k] for k in ("image", "image_name", "key", "file_name", "url") if row.get(k) is not None), None)
    image = _decode(raw_key) if raw_key is not None else None
    if raw_key is not None and image is None and isinstance(raw_key, bytes):
        return "non_utf8"
    if not image or not image.strip():
        return "missing_image"
    value = next((row[k] for k in ("sentences", "caption", "text") if row.get(k) is not None), None)
    if value is None:
        return "missing_sentences"
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    sentences = [_decode(s) for s in items]
    if any(s is None for s in sentences):
        return "non_utf8" if any(isinstance(s, bytes) for s in items) else "bad_sentence_type"
    if not sentences:
        return "missing_sentences"
    path = _decode(row.get("image_path")) if row.get("image_path") is not None else None
    return image.strip(), path, sentences


def _resolve_image(image: str, given_path: str | None, roots: list[Path], opts: ReadOptions) -> str | None | bool:
    """Absolute image path; None when the source names no file; False when a named file is missing."""
    if given_path:
        p = Path(given_path)
        cands = [p] if p.is_absolute() else [r / p for r in roots]
        hit = next((c for c in cands if c.is_file()), None)
        if hit is None:
            return False if opts.check_images else str(cands[0])
        return str(hit.resolve())
    if "://" in image:
        return None
    hit = next((r / image for r in roots if (r / image).is_file()), None)
    return str(hit.resolve()) if hit is not None else None


def _roots(source_file: Path, opts: ReadOptions) -> list[Path]:
    roots = [Path(opts.image_root)] if opts.image_root else []
    return roots + [source_file.parent]


def _iter_lines(fh, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) from a binary file; None for a line over ``max_bytes`` (consumed, never held)."""
    lineno = 0
    while True:
        line = fh.readline(max_bytes + 1)
        if not line:
            return
        lineno += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = fh.readline(1 << 20)
            yield lineno, None
            continue
        yield lineno, line


# -- JSONL ---------------------------------------------------------------------------------------------------
@register_reader("jsonl", detect=lambda p: p.name.endswith((".jsonl", ".jsonl.gz", ".ndjson")) or _has(p, "*.jsonl", "*.jsonl.gz"),
                 description="JSON lines: {image, sentences: [..]} or {image, caption|text: ..}")
def read_jsonl(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    for f in _files(source, ("*.jsonl", "*.jsonl.gz", "*.ndjson")):
        roots = _roots(f, opts)
        opener = gzip.open if f.name.endswith(".gz") else open
        with opener(f, "rb") as fh:
            for _, line in _iter_lines(fh, 4 * opts.max_line_chars):
                rec = _jsonl_record(line, roots, opts)
                if isinstance(rec, str):
                    tally.bad(rec)
                elif rec is not None:
                    yield rec


def _jsonl_record(line: bytes | None, roots: list[Path], opts: ReadOptions) -> RawRecord | str | None:
    if line is None:
        return "line_too_long"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return "non_utf8"
    if not text.strip():
        return None  # blank lines are not records
    if len(text) > opts.max_line_chars:
        return "line_too_long"
    try:
        obj = json.loads(text)
    except ValueError:
        return "bad_json"
    return _to_raw(record_fields(obj), roots, opts)


def _to_raw(fields: tuple | str, roots: list[Path], opts: ReadOptions) -> RawRecord | str:
    if isinstance(fields, str):
        return fields
    image, given, sentences = fields
    path = _resolve_image(image, given, roots, opts)
    if path is False:
        return "missing_image_file"
    return RawRecord(image, path, sentences)


# -- Parquet -------------------------------------------------------------------------------------------------
@register_reader("parquet", detect=lambda p: p.suffix == ".parquet" or _has(p, "*.parquet"),
                 description="Parquet: columns image + sentences (list) or caption|text (str)")
def read_parquet(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    wanted = ("image", "image_name", "key", "file_name", "url", "image_path", "sentences", "caption", "text")
    for f in _files(source, ("*.parquet",)):
        try:
            pf = pq.ParquetFile(f)
        except Exception as exc:  # pyarrow raises several types for a non-Parquet file
            raise MmweError(f"expected a Parquet file, got: {exc}", path=f) from None
        cols = [c for c in pf.schema_arrow.names if c in wanted]
        roots = _roots(f, opts)
        for batch in pf.iter_batches(batch_size=2048, columns=cols):
            for row in batch.to_pylist():
                rec = _to_raw(record_fields(row), roots, opts)
                if isinstance(rec, str):
                    tally.bad(rec)
                else:
                    yield rec


# -- COCO captions -------------------------------------------------------------------------------------------
@register_reader("coco", detect=lambda p: (p.suffix == ".json" and p.is_file()) or _has(p, "captions_*.json"),
                 description="COCO captions JSON (images[].file_name + annotations[].caption) and image folder")
def read_coco(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    for f in _files(source, ("captions_*.json", "annotations/captions_*.json")):
        images, captions = _load_coco(f, tally)
        roots = _coco_roots(f, opts)
        for image_id, file_name in images:
            caps = captions.pop(image_id, None)
            if not caps:
                tally.bad("missing_sentences")
                continue
            hit = next((r / file_name for r in roots if (r / file_name).is_file()), None)
            if hit is None and opts.check_images:
                tally.bad("missing_image_file")
                continue
            yield RawRecord(file_name, str(hit.resolve()) if hit else None, caps)
        tally.bad("unknown_image_id", sum(len(c) for c in captions.values()))


def _load_coco(f: Path, tally: Tally) -> tuple[list[tuple[Any, str]], dict[Any, list[str]]]:
    try:
        data = json.loads(f.read_bytes().decode("utf-8"))
        images = [(im["id"], str(im["file_name"])) for im in data["images"]]
        anns = data["annotations"]
    except (ValueError, KeyError, TypeError) as exc:
        raise MmweError(f"expected COCO captions JSON (images[].id/file_name, annotations[].image_id/caption), "
                        f"got: {type(exc).__name__}: {exc}", path=f) from None
    captions: dict[Any, list[str]] = {}
    for a in anns:
        cap = a.get("caption") if isinstance(a, dict) else None
        if not isinstance(cap, str) or "image_id" not in a:
            tally.bad("bad_annotation")
            continue
        captions.setdefault(a["image_id"], []).append(cap)
    return images, captions


def _coco_roots(f: Path, opts: ReadOptions) -> list[Path]:
    """image_root, the JSON's folder, and COCO's layout: annotations/captions_train2014.json -> train2014/."""
    roots = [Path(opts.image_root)] if opts.image_root else []
    roots.append(f.parent)
    m = re.match(r"captions_(.+)\.json$", f.name)
    if m:
        roots += [f.parent / m.group(1), f.parent.parent / m.group(1)]
    return roots


# -- webdataset / img2dataset tar shards ---------------------------------------------------------------------
def _unsafe_member(m: tarfile.TarInfo) -> str | None:
    """Why a member must not be touched: path traversal, absolute path, link or device; None when safe."""
    name = m.name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in name.split("/"):
        return "unsafe_member_path"
    if m.issym() or m.islnk():
        return "unsafe_member_link"
    if not (m.isfile() or m.isdir()):
        return "unsafe_member_type"
    return None


@register_reader("webdataset", detect=lambda p: p.name.endswith((".tar", ".tar.gz", ".tgz")) or _has(p, "*.tar"),
                 description="webdataset / img2dataset tar shards: KEY.jpg|png + KEY.txt|json (streamed)")
def read_webdataset(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    for f in _files(source, ("*.tar", "*.tar.gz", "*.tgz")):
        try:
            with tarfile.open(f, mode="r|*") as tf:  # stream mode: members in order, nothing extracted
                yield from _tar_samples(f, tf, opts, tally)
        except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile):
            tally.bad("unreadable_tar")  # a truncated shard: what came before it was kept


def _tar_samples(f: Path, tf: tarfile.TarFile, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    key, sample = None, {}
    for m in tf:
        why = _unsafe_member(m)
        if why:
            tally.bad(why)
            continue
        if not m.isfile():
            continue
        d, base = posixpath.split(m.name)
        stem, _, ext = base.partition(".")
        k = posixpath.join(d, stem)
        if k != key:
            if key is not None:
                yield from _tar_sample(f, key, sample, tally)
            key, sample = k, {}
        ext = "." + ext.lower()
        if ext in IMAGE_EXTS:
            sample.setdefault("image", m.name)
        elif ext in (".txt", ".json"):
            sample[ext] = None if m.size > 4 * opts.max_line_chars else tf.extractfile(m).read()
    if key is not None:
        yield from _tar_sample(f, key, sample, tally)


def _tar_sample(f: Path, key: str, sample: dict, tally: Tally) -> Iterator[RawRecord]:
    if ".txt" not in sample and ".json" not in sample:
        tally.bad("missing_sentences")
        return
    if "image" not in sample:
        tally.bad("missing_image_file")
        return
    raw = sample.get(".txt", sample.get(".json"))
    if raw is None:
        tally.bad("line_too_long")
        return
    text = _decode(raw)
    if text is None:
        tally.bad("non_utf8")
        return
    if ".txt" in sample:
        sentences = [text]
    else:
        try:
            fields = record_fields({"image": key, **json.loads(text)})
        except (ValueError, TypeError):
            fields = "bad_json"
        if isinstance(fields, str):
            tally.bad(fields)
            return
        sentences = fields[2]
    yield RawRecord(key, f"{f.resolve()}::{sample['image']}", sentences)


# -- Pinterest40M metadata (pickled) -------------------------------------------------------------------------
@register_reader("pinterest", detect=lambda p: p.suffix in (".npy", ".pkl") or _has(p, "pin_*.npy"),
                 description="released Pinterest40M shards pin_2016_v1_*.npy (pickles: needs --allow-pickle)")
def read_pinterest(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    files = _files(source, ("pin_*.npy", "*.npy", "*.pkl"))
    if not opts.allow_pickle:
        raise MmweError("expected --allow-pickle to read pickled Pinterest shards, got none; pickles can run code, "
                        "so opt in only for files you trust (a restricted unpickler is used)", path=files[0])
    for f in files:
        objs = load_pickled_objects(f)
        items = objs if isinstance(objs, (list, tuple)) else [objs]
        roots = [Path(opts.image_root)] if opts.image_root else []
        for obj in items:
            rec = _to_raw(record_fields(obj), roots, opts) if roots else record_fields(obj)
            if isinstance(rec, str):
                tally.bad(rec)
            elif isinstance(rec, RawRecord):
                yield rec
            else:  # no image folder given: the release names images and URLs only
                yield RawRecord(rec[0], None, rec[2])


# -- folder of images with same-named .txt (Tux Paint stamps) ------------------------------------------------
_TRANSLATION = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,})?(@\w+)?(\.utf-?8)?=")  # Tux Paint "fr=..." lines


@register_reader("folder", detect=lambda p: p.is_dir(),
                 description="folder of images with same-named .txt descriptions (Tux Paint stamps layout)")
def read_folder(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    if not source.is_dir():
        raise MmweError("expected a folder of images and .txt files", path=source)
    root = source.resolve()
    for d, dirs, files in os.walk(root):
        dirs.sort()
        groups: dict[str, dict[str, str]] = {}
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            groups.setdefault(stem, {})[ext.lower()] = name
        for stem, exts in groups.items():
            rec = _folder_record(root, Path(d), stem, exts, opts)
            if isinstance(rec, str):
                tally.bad(rec)
            elif rec is not None:
                yield rec


def _folder_record(root: Path, d: Path, stem: str, exts: dict[str, str], opts: ReadOptions) -> RawRecord | str | None:
    image = next((exts[e] for e in IMAGE_EXTS if e in exts), None)
    if ".txt" not in exts:
        return "missing_sentences" if image else None  # other files (sounds, .dat) are not records
    if image is None:
        return "missing_image_file"
    txt, img = d / exts[".txt"], d / image
    for p in (txt, img):
        if p.is_symlink() and not p.resolve().is_relative_to(root):
            return "unsafe_path"
    if txt.stat().st_size > 4 * opts.max_line_chars:
        return "line_too_long"
    text = _decode(txt.read_bytes())
    if text is None:
        return "non_utf8"
    sentences = [ln.strip() for ln in text.splitlines() if ln.strip() and not _TRANSLATION.match(ln.strip())]
    if not sentences:
        return "missing_sentences"
    key = (d / stem).relative_to(root).as_posix()
    return RawRecord(key, str(img.resolve()), sentences)


def open_image_bytes(image_path: str) -> bytes:
    """The bytes of a stored image reference: a plain file, or ``TAR::MEMBER`` read from the tar (not extracted)."""
    if "::" in image_path and not Path(image_path).exists():
        tar_path, member = image_path.split("::", 1)
        with tarfile.open(tar_path, mode="r:*") as tf:
            m = tf.getmember(member)
            if _unsafe_member(m) or not m.isfile():
                raise MmweError(f"refusing tar member {member!r}: not a plain file", path=tar_path)
            return tf.extractfile(m).read()
    return Path(image_path).read_bytes()
