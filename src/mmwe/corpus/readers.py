"""Corpus readers, one per source format, behind one small interface and a registry by name.

A reader is ``read(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]``. It streams (never
holds a whole large source in memory, COCO's single JSON aside), yields raw sentences, and counts every record
it cannot use in ``tally.bad(reason, detail=...)`` instead of raising: missing sentences, non-UTF-8, over-long
lines, missing image files, unsafe tar members... Only problems with the source as a whole raise ``MmweError``,
among them a file none of whose records has the keys a reader looks for (wrong field names: the error names the
keys expected and the keys found). Each reader's ``fields`` text says what it reads (``mmwe corpus build --help``
and docs/corpus-formats.md show it).

Skip policy for image files (with ``ReadOptions.check_images``, the default): a record that names a local image
file that does not exist is skipped as ``missing_image_file``. A record names a file when it has ``image_path``,
or when its image key ends in an image extension (``.jpg``, ``.png``, ...) and the record has no ``url``.
Records whose key is a URL, a bare id, or that carry a ``url`` are URL-only records (kept, ``image_path`` None).

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow.parquet as pq

from mmwe.corpus.fields import (
    IMAGE_EXTS,
    IMAGE_KEYS,
    SENTENCE_KEYS,
    KeyCheck,
    ReadOptions,
    decode_text,
    image_roots,
    shown_keys,
    use_row,
)
from mmwe.corpus.pickle_safe import load_pickled_objects
from mmwe.corpus.record import RawRecord, Tally
from mmwe.errors import MmweError

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
    fields: str = ""  # what the reader reads (files, keys, layout), one paragraph for `--help` and the docs


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
_ROW_FIELDS = ("Image: the first non-empty of image, image_name, key, file_name, url, image_path. Sentences: "
               "sentences (a list of strings) or caption / text (one string). Optional image_path: the image file, "
               "relative to the file's folder or --image-root. Rows of one image in a row are merged.")


@register_reader("jsonl", detect=lambda p: (p.name.endswith((".jsonl", ".jsonl.gz", ".ndjson"))
                                            or _has(p, "*.jsonl", "*.jsonl.gz")),
                 description="JSON lines: {image, sentences: [..]} or {image, caption|text: ..}",
                 fields="One JSON object per line (*.jsonl, *.jsonl.gz, *.ndjson; a file or a folder of them). "
                        + _ROW_FIELDS)
def read_jsonl(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    for f in _files(source, ("*.jsonl", "*.jsonl.gz", "*.ndjson")):
        roots = image_roots(f, opts)
        keys = KeyCheck(tally)
        opener = gzip.open if f.name.endswith(".gz") else open
        with opener(f, "rb") as fh:
            for lineno, line in _iter_lines(fh, 4 * opts.max_line_chars):
                obj = _jsonl_object(line, opts)
                if isinstance(obj, _BadLine):
                    tally.bad(obj.reason, detail=f"{f}:{lineno}: {obj.message}")
                elif obj is not _BLANK:
                    rec = use_row(obj, roots, opts, tally, f"{f}:{lineno}", keys, lineno)
                    if rec is not None:
                        yield rec
        keys.done(f)


class _BadLine(NamedTuple):
    reason: str
    message: str


_BLANK = object()  # a blank line: not a record


def _jsonl_object(line: bytes | None, opts: ReadOptions) -> Any:
    """The parsed value of one line, ``_BLANK``, or a ``_BadLine``."""
    if line is None:
        return _BadLine("line_too_long", f"expected a line of at most {opts.max_line_chars} characters, got more")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return _BadLine("non_utf8", "expected UTF-8 text, got other bytes")
    if not text.strip():
        return _BLANK
    if len(text) > opts.max_line_chars:
        return _BadLine("line_too_long", f"expected a line of at most {opts.max_line_chars} characters, "
                                         f"got {len(text)}")
    try:
        return json.loads(text)
    except ValueError as exc:
        return _BadLine("bad_json", f"expected one JSON object, got invalid JSON ({exc})")


# -- Parquet -------------------------------------------------------------------------------------------------
@register_reader("parquet", detect=lambda p: p.suffix == ".parquet" or _has(p, "*.parquet"),
                 description="Parquet: columns image + sentences (list) or caption|text (str)",
                 fields="Parquet files (*.parquet; a file or a folder of them), one row per record; the columns "
                        "are read like JSON keys. " + _ROW_FIELDS)
def read_parquet(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    wanted = (*IMAGE_KEYS, *SENTENCE_KEYS)
    for f in _files(source, ("*.parquet",)):
        if f.name == "urls.parquet" and any((f.parent / m).is_file() for m in ("download.json", "urls.sha256")):
            raise MmweError("expected a corpus, got the URL list of a `mmwe corpus download` folder (URLs, no "
                            f"images); fix: mmwe corpus build {f.parent} (reads its downloaded shards)", path=f)
        try:
            pf = pq.ParquetFile(f)
        except Exception as exc:  # pyarrow raises several types for a non-Parquet file
            raise MmweError(f"expected a Parquet file, got: {exc}", path=f) from None
        names = pf.schema_arrow.names
        for expected, what in ((IMAGE_KEYS, "an image column"), (SENTENCE_KEYS, "a sentences column")):
            if not set(names) & set(expected):  # no row can have it: refuse the file, as JSONL's KeyCheck does
                got = shown_keys(dict.fromkeys(names))
                raise MmweError(f"expected {what} among {list(expected)}, got columns {got}; fix: rename the "
                                "columns as docs/corpus-formats.md shows", path=f)
        cols = [c for c in names if c in wanted]
        roots = image_roots(f, opts)
        keys = KeyCheck(tally)
        row_no = 0
        for batch in pf.iter_batches(batch_size=2048, columns=cols):
            for row in batch.to_pylist():
                row_no += 1
                rec = use_row(row, roots, opts, tally, f"{f}: row {row_no}", keys, row_no)
                if rec is not None:
                    yield rec


# -- COCO captions -------------------------------------------------------------------------------------------
@register_reader("coco", detect=lambda p: (p.suffix == ".json" and p.is_file()) or _has(p, "captions_*.json"),
                 description="COCO captions JSON (images[].file_name + annotations[].caption) and image folder",
                 fields="A COCO captions file captions_*.json (or a folder holding captions_*.json or "
                        "annotations/captions_*.json): images[].id + images[].file_name, annotations[].image_id + "
                        "annotations[].caption (several captions per image). Image files are looked up in "
                        "--image-root, the JSON's folder, and COCO's layout: annotations/captions_val2014.json -> "
                        "val2014/FILE_NAME beside annotations/.")
def read_coco(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    for f in _files(source, ("captions_*.json", "annotations/captions_*.json")):
        images, captions = _load_coco(f, tally)
        roots = _coco_roots(f, opts)
        for image_id, file_name in images:
            caps = captions.pop(image_id, None)
            if not caps:
                tally.bad("missing_sentences", detail=f"{f}: image id {image_id!r}: expected at least one "
                                                      "annotation with its image_id, got none")
                continue
            hit = next((r / file_name for r in roots if (r / file_name).is_file()), None)
            if hit is None and opts.check_images:
                tally.bad("missing_image_file", detail=f"{f}: image id {image_id!r}: expected the image file "
                          f"{file_name!r} in {', '.join(str(r) for r in roots)}, got no such file")
                continue
            yield RawRecord(file_name, str(hit.resolve()) if hit else None, caps)
        orphans = sum(len(c) for c in captions.values())
        if orphans:
            tally.bad("unknown_image_id", orphans, detail=f"{f}: image_id {next(iter(captions))!r}: expected an "
                                                          "annotation's image_id among images[].id, got another")


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
            what = repr(a.get("id") if isinstance(a, dict) else a)[:40]
            tally.bad("bad_annotation", detail=f"{f}: annotation {what}: expected an image_id and a string "
                                               "caption, got another value")
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
                 description="webdataset / img2dataset tar shards: KEY.jpg|png + KEY.txt|json (streamed)",
                 fields="Tar shards (*.tar, *.tar.gz, *.tgz; a file or a folder of them), members grouped by KEY "
                        "(the name up to its first dot): KEY.jpg|.jpeg|.png|.webp|.gif|.bmp|.svg is the image, "
                        "KEY.txt the caption (one sentence), or KEY.json an object with sentences / caption / "
                        "text (img2dataset writes KEY.json and KEY.txt; .txt wins). Other members are ignored; "
                        "images are read from the tar, never extracted; links and ../ paths are refused.")
def read_webdataset(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    for f in _files(source, ("*.tar", "*.tar.gz", "*.tgz")):
        keys = KeyCheck(tally)
        try:
            with tarfile.open(f, mode="r|*") as tf:  # stream mode: members in order, nothing extracted
                yield from _tar_samples(f, tf, opts, tally, keys)
        except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile) as exc:
            tally.bad("unreadable_tar", detail=f"{f}: expected a complete tar archive, got: {exc}")
            continue  # a truncated shard: what came before it was kept
        keys.done(f, "member")


def _tar_samples(f: Path, tf: tarfile.TarFile, opts: ReadOptions, tally: Tally, keys: KeyCheck) -> Iterator[RawRecord]:
    key, sample = None, {}
    for m in tf:
        why = _unsafe_member(m)
        if why:
            tally.bad(why, detail=f"{f}: member {m.name!r}: expected a plain file inside the archive, got {why}")
            continue
        if not m.isfile():
            continue
        d, base = posixpath.split(m.name)
        stem, _, ext = base.partition(".")
        k = posixpath.join(d, stem)
        if k != key:
            if key is not None:
                yield from _tar_sample(f, key, sample, tally, keys)
            key, sample = k, {}
        ext = "." + ext.lower()
        if ext in IMAGE_EXTS:
            sample.setdefault("image", m.name)
        elif ext in (".txt", ".json"):
            sample[ext] = None if m.size > 4 * opts.max_line_chars else tf.extractfile(m).read()
    if key is not None:
        yield from _tar_sample(f, key, sample, tally, keys)


def _tar_sample(f: Path, key: str, sample: dict, tally: Tally, keys: KeyCheck) -> Iterator[RawRecord]:
    where = f"{f}: sample {key!r}"
    if ".txt" not in sample and ".json" not in sample:
        tally.bad("missing_sentences", detail=f"{where}: expected {key}.txt or {key}.json beside the image, "
                                              "got neither")
        return
    if "image" not in sample:
        tally.bad("missing_image_file", detail=f"{where}: expected an image member {key}.jpg|.png|..., got none")
        return
    raw = sample.get(".txt", sample.get(".json"))
    if raw is None:
        tally.bad("line_too_long", detail=f"{where}: expected a caption member of at most 4 x max_line_chars "
                                         "bytes, got a longer one")
        return
    text = decode_text(raw)
    if text is None:
        tally.bad("non_utf8", detail=f"{where}: expected UTF-8 text, got other bytes")
        return
    if ".txt" in sample:
        yield RawRecord(key, f"{f.resolve()}::{sample['image']}", [text])
        return
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        tally.bad("bad_json", detail=f"{where}: expected {key}.json to hold a JSON object, got other data")
        return
    rec = use_row({**obj, "image": key}, None, ReadOptions(), tally, where, keys, None)
    if rec is not None:
        yield RawRecord(key, f"{f.resolve()}::{sample['image']}", rec.sentences)


# -- Pinterest40M metadata (pickled) -------------------------------------------------------------------------
@register_reader("pinterest", detect=lambda p: p.suffix in (".npy", ".pkl") or _has(p, "pin_*.npy"),
                 description="released Pinterest40M shards pin_2016_v1_*.npy (pickles: needs --allow-pickle)",
                 fields="The released Pinterest40M metadata shards pin_2016_v1_*.npy (or *.npy / *.pkl): pickled "
                        "lists or object arrays of dicts (Python 2 byte-string keys accepted). Read only with "
                        "--allow-pickle, through a restricted unpickler (plain containers and numpy arrays only). "
                        "Image: image_name (or the other image keys); sentences: sentences. Images are looked up "
                        "in --image-root when given (missing files are skipped), else the records are URL-only.")
def read_pinterest(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    files = _files(source, ("pin_*.npy", "*.npy", "*.pkl"))
    if not opts.allow_pickle:
        raise MmweError("expected --allow-pickle to read pickled Pinterest shards, got none; pickles can run code, "
                        "so opt in only for files you trust (a restricted unpickler is used)", path=files[0])
    roots = [Path(opts.image_root)] if opts.image_root else None  # None: the release names images and URLs only
    for f in files:
        objs = load_pickled_objects(f)
        items = objs if isinstance(objs, (list, tuple)) else [objs]
        keys = KeyCheck(tally)
        for i, obj in enumerate(items, 1):
            rec = use_row(obj, roots, opts, tally, f"{f}: object {i}", keys, i, local=True)
            if rec is not None:
                yield rec
        keys.done(f, "object")


# -- folder of images with same-named .txt (Tux Paint stamps) ------------------------------------------------
_TRANSLATION = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,})?(@\w+)?(\.utf-?8)?=")  # Tux Paint "fr=..." lines


@register_reader("folder", detect=lambda p: p.is_dir(),
                 description="folder of images with same-named .txt descriptions (Tux Paint stamps layout)",
                 fields="A folder tree of images (.png .jpg .jpeg .webp .gif .bmp .svg), each with a same-named "
                        ".txt beside it (cat.png + cat.txt): one sentence per line; Tux Paint translation lines "
                        "(fr=..., pt_BR=...) are skipped. The key is the path without extension; other files "
                        "(sounds, .dat) are ignored.")
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
                tally.bad(rec, detail=f"{Path(d) / stem}: {_FOLDER_WHY.get(rec, rec)}")
            elif rec is not None:
                yield rec


_FOLDER_WHY = {"missing_sentences": "expected a same-named .txt with at least one sentence, got none",
               "missing_image_file": "expected a same-named image beside the .txt, got none",
               "unsafe_path": "expected files inside the folder, got a link leading out of it",
               "line_too_long": "expected a .txt of at most 4 x max_line_chars bytes, got a longer one",
               "non_utf8": "expected UTF-8 text, got other bytes"}


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
    text = decode_text(txt.read_bytes())
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
