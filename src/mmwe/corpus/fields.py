"""What a JSON / Parquet / pickle row of a corpus source gives: the image key, the file it names, the sentences;
why a row is a bad record; the per-file check that some row carries the expected keys; the options every reader
understands. The readers (``mmwe.corpus.readers``) stream rows and turn each into a record here."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from mmwe.corpus.record import RawRecord, Tally
from mmwe.errors import MmweError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".svg")  # preference order within one key
IMAGE_KEYS = ("image", "image_name", "key", "file_name", "url", "image_path")  # the first non-empty names the image
SENTENCE_KEYS = ("sentences", "caption", "text")  # a list of strings, or one string


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


def decode_text(value: Any) -> str | None:
    """str as is, UTF-8 bytes decoded; None when not text or not UTF-8."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


class Fields(NamedTuple):
    """What a JSON/Parquet/pickle row gives: the image key, the file it names, the raw sentences, its URL."""

    image: str
    image_path: str | None
    sentences: list[str]
    url: str | None


def record_fields(obj: Any) -> Fields | str:
    """The ``Fields`` of a JSON/Parquet/pickle row, or the reason it is a bad record.

    Image key: the first non-empty of ``IMAGE_KEYS`` (``image``, ``image_name``, ``key``, ``file_name``, ``url``,
    ``image_path``). Sentences: ``sentences`` (a list of strings) or ``caption`` / ``text`` (one string). Keys
    and values may be bytes (Python 2 pickles).
    """
    if not isinstance(obj, dict):
        return "not_an_object"
    row = {(decode_text(k) or ""): v for k, v in obj.items()}
    raw_key = next((row[k] for k in IMAGE_KEYS if row.get(k) is not None), None)
    image = decode_text(raw_key) if raw_key is not None else None
    if raw_key is not None and image is None and isinstance(raw_key, bytes):
        return "non_utf8"
    if not image or not image.strip():
        return "missing_image"
    value = next((row[k] for k in SENTENCE_KEYS if row.get(k) is not None), None)
    if value is None:
        return "missing_sentences"
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    sentences = [decode_text(s) for s in items]
    if any(s is None for s in sentences):
        return "non_utf8" if any(isinstance(s, bytes) for s in items) else "bad_sentence_type"
    if not sentences:
        return "missing_sentences"
    path = decode_text(row.get("image_path")) if row.get("image_path") is not None else None
    url = decode_text(row.get("url")) if row.get("url") is not None else None
    return Fields(image.strip(), path, sentences, url)


def shown_keys(obj: dict) -> list[str]:
    keys = sorted((decode_text(k) if decode_text(k) is not None else repr(k))[:40] for k in obj)
    return keys if len(keys) <= 12 else keys[:12] + [f"... {len(keys) - 12} more"]


def wrong_keys(obj: Any, reason: str) -> str | None:
    """The message for a row that has none of the keys a reader looks for; None when the keys are there."""
    if not isinstance(obj, dict):
        return None
    keys = {decode_text(k) for k in obj}
    if reason == "missing_image" and not keys & set(IMAGE_KEYS):
        return f"expected an image key among {list(IMAGE_KEYS)}, got keys {shown_keys(obj)}"
    if reason == "missing_sentences" and not keys & set(SENTENCE_KEYS):
        return f"expected a sentences key among {list(SENTENCE_KEYS)}, got keys {shown_keys(obj)}"
    return None


def why_bad(obj: Any, reason: str) -> str:
    """One line on a bad row, for the manifest's examples."""
    wrong = wrong_keys(obj, reason)
    if wrong:
        return wrong
    if reason == "not_an_object":
        return f"expected a JSON object {{...}}, got {type(obj).__name__}"
    if reason == "missing_image":
        return f"expected a non-empty image name in one of {list(IMAGE_KEYS)}, got none"
    if reason == "missing_sentences":
        return f"expected a non-empty list or string in one of {list(SENTENCE_KEYS)}, got none"
    if reason == "non_utf8":
        return "expected UTF-8 text, got other bytes"
    return f"expected sentences as strings, got other types ({reason})"


class KeyCheck:
    """Per file: did any row carry the expected keys? A file none of whose rows did is refused as a whole."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.before = Counter(tally.bad_records)  # to report this file's own skips
        self.with_keys = 0  # rows that had an image key and a sentences key (usable or not for other reasons)
        self.first: tuple[int | None, str] | None = None  # (line or row, message) of the first row without

    def saw(self, wrong: str | None, where: int | None) -> None:
        if wrong is None:
            self.with_keys += 1
        elif self.first is None:
            self.first = (where, wrong)

    def done(self, path: Path, what: str = "line") -> None:
        if self.with_keys == 0 and self.first is not None:
            where, msg = self.first
            bad = self.tally.bad_records - self.before
            counts = ", ".join(f"{k}={v}" for k, v in sorted(bad.items()))
            raise MmweError(f"expected at least one record to survive, got none of {sum(bad.values())} "
                            f"(bad_records: {counts}): {msg} in every record (first: {what} {where}); fix: rename "
                            "the fields as docs/corpus-formats.md shows, or pass the right --reader",
                            path=path)


def use_row(obj: Any, roots: list[Path] | None, opts: ReadOptions, tally: Tally, where: str,
             keys: KeyCheck, pos: int | None, *, local: bool = False) -> RawRecord | None:
    """The record of one JSON/Parquet/pickle row, or None once ``tally`` counts why it cannot be used.

    ``roots`` None: the source names its images only (no file is looked up). ``local``: every image is a file
    under ``roots``, even when the row has a URL. ``where``: "FILE:LINE" for messages.
    """
    f = record_fields(obj)
    if isinstance(f, str):
        keys.saw(wrong_keys(obj, f), pos)
        tally.bad(f, detail=f"{where}: {why_bad(obj, f)}")
        return None
    keys.saw(None, pos)
    if roots is None:
        return RawRecord(f.image, None, f.sentences)
    if local:
        f = f._replace(url=None)
    path = resolve_image(f, roots, opts)
    if path is False:
        tally.bad("missing_image_file", detail=f"{where}: expected the image file {f.image_path or f.image!r} "
                                               f"in {', '.join(str(r) for r in roots)}, got no such file")
        return None
    return RawRecord(f.image, path, f.sentences)


def resolve_image(f: Fields, roots: list[Path], opts: ReadOptions) -> str | None | bool:
    """Absolute image path; None when the record names no local file (a URL or an id); False when the file it
    names is missing (and ``opts.check_images``): see the module docstring for when a record names a file."""
    if f.image_path:
        p = Path(f.image_path)
        cands = [p] if p.is_absolute() else [r / p for r in roots]
        hit = next((c for c in cands if c.is_file()), None)
        if hit is None:
            return False if opts.check_images else str(cands[0])
        return str(hit.resolve())
    if "://" in f.image:
        return None
    hit = next((r / f.image for r in roots if (r / f.image).is_file()), None)
    if hit is not None:
        return str(hit.resolve())
    names_file = f.url is None and f.image.lower().endswith(IMAGE_EXTS)
    return False if names_file and opts.check_images else None


def image_roots(source_file: Path, opts: ReadOptions) -> list[Path]:
    roots = [Path(opts.image_root)] if opts.image_root else []
    return roots + [source_file.parent]
